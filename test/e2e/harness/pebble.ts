/**
 * Pebble, Let's Encrypt's ACME test server, on loopback with real HTTP-01 validation: its
 * validation authority resolves every name through a small DNS responder here (A 127.0.0.1, no
 * AAAA) and connects to `httpPort`, where the client under test answers the challenge. Its own
 * HTTPS uses a certificate from the harness CA; the CA it issues from (a new one every start) is
 * fetched from its management interface. Certificates live `validitySeconds`.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { httpCall } from "../../../src/stack/http.js";
import {
  freePort,
  onCleanup,
  startProcess,
  tempDir,
  waitUntil,
  type ManagedProcess,
} from "../../../src/stack/processes.js";
import { pebbleBin } from "./peers.js";
import { createCa, issueServingCert, type Ca } from "./pki.js";

/** The answer to a DNS query: A 127.0.0.1 for any name; no records of any other type. */
function dnsAnswer(q: Buffer): Buffer | undefined {
  if (q.length < 12) return undefined;
  let i = 12;
  while (i < q.length && q[i] !== 0) i += (q[i] ?? 0) + 1;
  if (i + 5 > q.length) return undefined;
  const isA = q.readUInt16BE(i + 1) === 1;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.readUInt16BE(0), 0); // id
  header.writeUInt16BE(0x8180 | (q.readUInt16BE(2) & 0x0100), 2); // a response, recursion available
  header.writeUInt16BE(1, 4); // the question
  header.writeUInt16BE(isA ? 1 : 0, 6); // answers
  const answer = isA
    ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1])
    : Buffer.alloc(0);
  return Buffer.concat([header, q.subarray(12, i + 5), answer]);
}

/**
 * A DNS responder on loopback, UDP and TCP on one port (Pebble asks over TCP): every name
 * resolves to 127.0.0.1.
 */
export async function startLoopbackDns(): Promise<{ address: string; close(): void }> {
  const port = await freePort();
  const udp: Socket = createSocket("udp4");
  udp.on("message", (q, peer) => {
    const a = dnsAnswer(q);
    if (a !== undefined) udp.send(a, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, "127.0.0.1", resolve));
  const tcp: Server = createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        const a = dnsAnswer(q);
        if (a === undefined) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(a.length);
        conn.write(Buffer.concat([len, a]));
      }
    });
    conn.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => tcp.listen(port, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${port}`,
    close: () => {
      udp.close();
      tcp.close();
    },
  };
}

/** Pebble refuses requests without a User-Agent (RFC 8555 6.1). */
const UA = { "user-agent": "irsa-anywhere-e2e" };

export interface PebbleOptions {
  /** The port Pebble's HTTP-01 validation connects to on the client's host. */
  readonly httpPort: number;
  /** Lifetime of the certificates it issues. */
  readonly validitySeconds: number;
  readonly timeoutMs?: number;
}

export interface Pebble {
  /** https://127.0.0.1:<port>/dir */
  readonly directoryUrl: string;
  /** Where its HTTP-01 validation connects (the issuer's --acme-http-port). */
  readonly httpPort: number;
  /** The CA that signed Pebble's own HTTPS certificate (pass it as --acme-ca-file). */
  readonly listenerCa: Ca;
  readonly proc: ManagedProcess;
  /** The root the issued certificates chain to, from the management interface. */
  issuingRoot(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const bin = pebbleBin();
  const dir = await tempDir("pebble");
  const listenerCa = await createCa(dir, "pebble listener CA");
  const serving = await issueServingCert(listenerCa, "pebble", { ipAddresses: ["127.0.0.1"] });
  const dns = await startLoopbackDns();
  let dnsOpen = true;
  const closeDns = (): Promise<void> => {
    if (dnsOpen) dns.close();
    dnsOpen = false;
    return Promise.resolve();
  };
  onCleanup(closeDns);
  const [port, mgmtPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, "pebble-config.json");
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: serving.certFile,
        privateKey: serving.keyFile,
        httpPort: opts.httpPort,
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        retryAfter: { authz: 1, order: 1 },
        keyAlgorithm: "ecdsa",
        profiles: {
          default: { description: "short-lived test certificates", validityPeriod: opts.validitySeconds },
        },
      },
    }),
  );
  const proc = startProcess({
    name: "pebble",
    command: bin,
    args: ["-config", config, "-dnsserver", dns.address],
    logDir: dir,
    // No random sleep before validating (up to 15 s otherwise); validation itself stays real.
    env: { PEBBLE_VA_NOSLEEP: "1", NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" },
  });
  onCleanup(() => proc.stop());
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  await waitUntil(
    "pebble /dir",
    async () =>
      (await httpCall(directoryUrl, { ca: listenerCa.certPem, headers: UA, timeoutMs: 2000 })).status === 200,
    { proc, timeoutMs: opts.timeoutMs ?? 60_000 },
  );
  return {
    directoryUrl,
    httpPort: opts.httpPort,
    listenerCa,
    proc,
    async issuingRoot() {
      const r = await httpCall(`https://127.0.0.1:${mgmtPort}/roots/0`, {
        ca: listenerCa.certPem,
        headers: UA,
      });
      if (r.status !== 200) throw new Error(`pebble /roots/0: HTTP ${r.status}`);
      return r.text;
    },
    async stop() {
      await proc.stop();
      await closeDns();
    },
  };
}
