/**
 * A throwaway CA and certificates made with the `openssl` CLI (ECDSA P-256): serving certificates
 * with IP and DNS SANs (Go rejects CN-only certificates), and client certificates whose O fields
 * become Kubernetes groups.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOk } from "./proc.js";

export interface Ca {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  /** base64 of the CA certificate PEM: a webhook's or APIService's `caBundle`. */
  readonly caBundle: string;
}

export interface Cert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The issuing CA's certificate PEM (what a client of this server trusts). */
  readonly caPem: string;
  readonly caFile: string;
}

export interface CertOptions {
  /** File name stem: `<name>.crt`, `<name>.key`. */
  readonly name: string;
  readonly commonName: string;
  /** Subject O values; for a Kubernetes client certificate these are the user's groups. */
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** serverAuth, clientAuth or both. Default server. */
  readonly usage?: "server" | "client" | "both";
  /** Validity in days; default 2. */
  readonly days?: number;
}

const OPENSSL = process.env.OPENSSL ?? "openssl";

function dnConfig(commonName: string, organizations: readonly string[]): string {
  // Multi-valued O needs the "0.O", "1.O" form in an openssl config.
  const orgs = organizations.map((o, i) => `${i}.O = ${o}`).join("\n");
  return `[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\n[dn]\n${orgs}\nCN = ${commonName}\n`;
}

async function newKey(file: string): Promise<void> {
  await runOk(OPENSSL, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-pkeyopt",
    "ec_param_enc:named_curve",
    "-out",
    file,
  ]);
}

/** A self-signed CA in `dir` (ca.crt, ca.key). */
export async function createCa(dir: string, commonName = "irsa-anywhere e2e CA"): Promise<Ca> {
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  const cnf = join(dir, "ca.cnf");
  await writeFile(
    cnf,
    `${dnConfig(commonName, [])}[v3_ca]\n` +
      `basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign,digitalSignature\n` +
      `subjectKeyIdentifier = hash\n`,
  );
  await newKey(keyFile);
  await runOk(OPENSSL, [
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-sha256",
    "-days",
    "3",
    "-config",
    cnf,
    "-extensions",
    "v3_ca",
    "-out",
    certFile,
  ]);
  const certPem = await readFile(certFile, "utf8");
  return { dir, certFile, keyFile, certPem, caBundle: Buffer.from(certPem).toString("base64") };
}

/** Issues a leaf certificate signed by `ca`, written to `<dir>/<name>.crt|.key` (dir defaults to the CA's). */
export async function issueCert(ca: Ca, opts: CertOptions, dir = ca.dir): Promise<Cert> {
  const certFile = join(dir, `${opts.name}.crt`);
  const keyFile = join(dir, `${opts.name}.key`);
  const csr = join(dir, `${opts.name}.csr`);
  const cnf = join(dir, `${opts.name}.cnf`);
  const usage = opts.usage ?? "server";
  const eku = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[usage];
  const sans = [
    ...(opts.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(opts.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  await writeFile(
    cnf,
    `${dnConfig(opts.commonName, opts.organizations ?? [])}[ext]\nbasicConstraints = critical,CA:FALSE\n` +
      `keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = ${eku}\n` +
      `authorityKeyIdentifier = keyid\n${sans.length > 0 ? `subjectAltName = ${sans.join(",")}\n` : ""}`,
  );
  await newKey(keyFile);
  await runOk(OPENSSL, ["req", "-new", "-key", keyFile, "-config", cnf, "-out", csr]);
  await runOk(OPENSSL, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    `0x${randomBytes(12).toString("hex")}`,
    "-sha256",
    "-days",
    String(opts.days ?? 2),
    "-extfile",
    cnf,
    "-extensions",
    "ext",
    "-out",
    certFile,
  ]);
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, "utf8"),
    keyPem: await readFile(keyFile, "utf8"),
    caPem: ca.certPem,
    caFile: ca.certFile,
  };
}

/**
 * A serving certificate for a loopback server (a webhook, an HTTPS issuer): SANs IP 127.0.0.1 and
 * DNS localhost unless given. Use `cert.keyPem`/`cert.certPem` in the server and `ca.caBundle` in
 * the client configuration (e.g. a MutatingWebhookConfiguration's clientConfig.caBundle).
 */
export async function issueServingCert(
  ca: Ca,
  name: string,
  opts: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; dir?: string } = {},
): Promise<Cert> {
  return issueCert(
    ca,
    {
      name,
      commonName: name,
      dnsNames: opts.dnsNames ?? ["localhost"],
      ipAddresses: opts.ipAddresses ?? ["127.0.0.1"],
      usage: "server",
    },
    opts.dir,
  );
}
