/**
 * Certificates from the PKI adapter in real TLS on loopback: a node:https server serving an issued
 * certificate is reachable by a client that trusts only the CA and refused by one that trusts
 * another CA; validity windows, SANs, a root → intermediate → leaf chain and client certificates
 * (their O values, what kube-apiserver reads as groups) are enforced by OpenSSL, not by us.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity, TLSSocket } from "node:tls";
import { after, before, describe, it } from "node:test";
import { createCa, issueCert, issueServingCert, type Ca, type Cert } from "../../src/adapters/pki/index.js";

const DAY_MS = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "irsa-pki-it-"));
const servers: Server[] = [];

after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function newCa(name: string): Promise<Ca> {
  const d = join(dir, `${name}-${++n}`);
  await mkdir(d);
  return createCa(d, name);
}

/**
 * An https server answering 200 with the client certificate's subject. With `clientCa` it asks for
 * a client certificate and, like kube-apiserver, treats one that does not verify as anonymous:
 * 401 with OpenSSL's reason.
 */
async function serve(cert: Pick<Cert, "keyPem">, chainPem: string, clientCa?: string): Promise<number> {
  const server = createServer(
    {
      key: cert.keyPem,
      cert: chainPem,
      ca: clientCa,
      requestCert: clientCa !== undefined,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket;
      assert.ok(socket instanceof TLSSocket);
      if (clientCa !== undefined && !socket.authorized) {
        res.statusCode = 401;
        res.end(String(socket.authorizationError));
        return;
      }
      res.end(socket.getPeerX509Certificate()?.subject ?? "anonymous");
    },
  );
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/**
 * GET / over https to 127.0.0.1; resolves with the body, rejects with the TLS error (its `code`).
 * `host`: check the certificate for that name instead of the IP dialled.
 */
function get(
  port: number,
  opts: { ca: string; host?: string; cert?: string; key?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        timeout: 5000,
        checkServerIdentity: (dialled, c) => checkServerIdentity(opts.host ?? dialled, c),
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const tlsCode = (code: string) => (e: unknown) => {
  assert.equal((e as NodeJS.ErrnoException).code, code, String(e));
  return true;
};

describe("an https server with an issued certificate", () => {
  let ca: Ca;
  let port: number;

  before(async () => {
    ca = await newCa("trusted");
    const cert = await issueServingCert(ca, "server");
    port = await serve(cert, cert.chainPem);
  });

  it("is reachable by a client that trusts only the CA, by IP and by DNS name", async () => {
    assert.deepEqual(await get(port, { ca: ca.certPem }), { status: 200, body: "anonymous" });
    assert.equal((await get(port, { ca: ca.certPem, host: "localhost" })).status, 200);
  });

  it("is refused by a client that trusts another CA, even one of the same name", async () => {
    const other = await newCa("trusted");
    await assert.rejects(get(port, { ca: other.certPem }), tlsCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE"));
  });

  it("is refused for a name outside its SANs", async () => {
    await assert.rejects(
      get(port, { ca: ca.certPem, host: "example.com" }),
      tlsCode("ERR_TLS_CERT_ALTNAME_INVALID"),
    );
  });
});

describe("validity windows", () => {
  it("an expired certificate and a not-yet-valid one are refused; a current one is accepted", async () => {
    const ca = await newCa("windows");
    const now = Date.now();
    const base = { commonName: "w", ipAddresses: ["127.0.0.1"] };
    const expired = await issueCert(ca, {
      ...base,
      name: "expired",
      notBefore: new Date(now - 2 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    const future = await issueCert(ca, {
      ...base,
      name: "future",
      notBefore: new Date(now + DAY_MS),
      days: 1,
    });
    const current = await issueCert(ca, { ...base, name: "current", days: 0.01 });
    await assert.rejects(
      get(await serve(expired, expired.chainPem), { ca: ca.certPem }),
      tlsCode("CERT_HAS_EXPIRED"),
    );
    await assert.rejects(
      get(await serve(future, future.chainPem), { ca: ca.certPem }),
      tlsCode("CERT_NOT_YET_VALID"),
    );
    assert.equal((await get(await serve(current, current.chainPem), { ca: ca.certPem })).status, 200);
  });
});

describe("root → intermediate → leaf", () => {
  it("verifies for a client trusting only the root when the server presents the chain", async () => {
    const root = await newCa("root");
    const sub = await issueCert(root, { name: "sub", commonName: "intermediate", isCa: true });
    const leaf = await issueServingCert(sub, "leaf");
    assert.equal((await get(await serve(leaf, leaf.chainPem), { ca: root.certPem })).status, 200);
    // Without the intermediate the client cannot build a path to the root it trusts.
    await assert.rejects(
      get(await serve(leaf, leaf.certPem), { ca: root.certPem }),
      tlsCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    );
  });
});

describe("client certificates", () => {
  it("a server trusting the CA reads the client's groups (O) and refuses another CA's client", async () => {
    const ca = await newCa("clients");
    const server = await issueServingCert(ca, "api");
    const port = await serve(server, server.chainPem, ca.certPem);
    const admin = await issueCert(ca, {
      name: "admin",
      commonName: "admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    const res = await get(port, { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem });
    assert.deepEqual(res, { status: 200, body: "O=system:masters\nCN=admin" });
    const stranger = await issueCert(await newCa("clients"), { name: "s", commonName: "s", usage: "client" });
    assert.deepEqual(await get(port, { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem }), {
      status: 401,
      body: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
    // A serving-only certificate is not a client certificate (no clientAuth).
    const notClient = await issueServingCert(ca, "not-client");
    assert.deepEqual(await get(port, { ca: ca.certPem, cert: notClient.certPem, key: notClient.keyPem }), {
      status: 401,
      body: "INVALID_PURPOSE",
    });
  });
});
