/**
 * A CA and its certificates as files, for processes that take paths (kube-apiserver's
 * --tls-cert-file and --client-ca-file, `irsa webhook --tls-cert`, MinIO's certs dir):
 * `<name>.crt` and `<name>.key` (mode 0600) in a directory, the PEM text alongside.
 *
 *   const ca = await createCa(dir);                               // ca.crt, ca.key
 *   const web = await issueServingCert(ca, "webhook");            // 127.0.0.1 and localhost
 *   const sub = await issueCert(ca, { name: "sub", commonName: "sub CA", isCa: true });
 *   const leaf = await issueServingCert(sub, "api");              // serve leaf.chainPem; trust ca
 */
import { join } from "node:path";
import { IrsaError } from "../../core/errors.js";
import { writeFileAtomic } from "../files.js";
import { createCertificateAuthority, signCertificate, type CertificateSpec, type Validity } from "./x509.js";

export interface Ca {
  /** Where certificates it issues are written by default. */
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** base64 of the root certificate PEM: a webhook's or APIService's `caBundle`. */
  readonly caBundle: string;
  /** The root of this CA's chain, what clients trust: this CA itself unless it is an intermediate. */
  readonly rootPem: string;
  readonly rootFile: string;
  /**
   * The certificates a server presents after its own: this CA and the intermediates above it,
   * without the root. Empty for a root CA.
   */
  readonly chainPem: string;
}

export interface Cert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The chain's root certificate PEM and file (what a client of this server trusts). */
  readonly caPem: string;
  readonly caFile: string;
  /** This certificate then any intermediates: what a server presents. certPem when a root issued it. */
  readonly chainPem: string;
  /** A file holding chainPem: certFile when a root issued it, else `<name>.chain.crt`. */
  readonly chainFile: string;
}

export interface CertOptions extends CertificateSpec {
  /** File name stem: `<name>.crt`, `<name>.key`. */
  readonly name: string;
}

const FILE_STEM = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

function checkStem(name: string): void {
  if (!FILE_STEM.test(name)) {
    throw new IrsaError(
      "CERT_OPTIONS_INVALID",
      `certificate name "${name}" is not a plain file name`,
      "use letters, digits, '.', '_' and '-' (no slashes), e.g. webhook",
    );
  }
}

async function writePair(dir: string, name: string, certPem: string, keyPem: string) {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeFileAtomic(keyFile, keyPem, 0o600);
  await writeFileAtomic(certFile, certPem, 0o644);
  return { certFile, keyFile };
}

/** A self-signed root CA written to `dir` as ca.crt and ca.key. */
export async function createCa(
  dir: string,
  commonName = "irsa-anywhere local CA",
  opts: Validity & { pathLength?: number } = {},
): Promise<Ca> {
  const { certPem, keyPem } = await createCertificateAuthority({ ...opts, commonName });
  const { certFile, keyFile } = await writePair(dir, "ca", certPem, keyPem);
  return {
    dir,
    certFile,
    keyFile,
    certPem,
    keyPem,
    caBundle: Buffer.from(certPem).toString("base64"),
    rootPem: certPem,
    rootFile: certFile,
    chainPem: "",
  };
}

/**
 * Issues a certificate signed by `ca`, written to `<dir>/<name>.crt|.key` (dir defaults to the
 * CA's). With `isCa` it is an intermediate CA, usable as the `ca` of further calls.
 */
export async function issueCert(ca: Ca, opts: CertOptions & { isCa: true }, dir?: string): Promise<Cert & Ca>;
export async function issueCert(ca: Ca, opts: CertOptions, dir?: string): Promise<Cert>;
export async function issueCert(ca: Ca, opts: CertOptions, dir = ca.dir): Promise<Cert> {
  checkStem(opts.name);
  const { certPem, keyPem } = await signCertificate(ca, opts);
  const { certFile, keyFile } = await writePair(dir, opts.name, certPem, keyPem);
  const chainPem = certPem + ca.chainPem;
  let chainFile = certFile;
  if (ca.chainPem !== "") {
    chainFile = join(dir, `${opts.name}.chain.crt`);
    await writeFileAtomic(chainFile, chainPem, 0o644);
  }
  const cert: Cert = {
    certFile,
    keyFile,
    certPem,
    keyPem,
    caPem: ca.rootPem,
    caFile: ca.rootFile,
    chainPem,
    chainFile,
  };
  if (opts.isCa !== true) return cert;
  const intermediate: Cert & Ca = {
    ...cert,
    dir,
    caBundle: ca.caBundle,
    rootPem: ca.rootPem,
    rootFile: ca.rootFile,
  };
  return intermediate;
}

/**
 * A serving certificate for a loopback server (a webhook, an HTTPS issuer): SANs IP 127.0.0.1 and
 * DNS localhost unless given. Serve `cert.chainPem` with `cert.keyPem`, and give clients the CA's
 * `caBundle` (e.g. a MutatingWebhookConfiguration's clientConfig.caBundle).
 */
export async function issueServingCert(
  ca: Ca,
  name: string,
  opts: Validity & { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; dir?: string } = {},
): Promise<Cert> {
  const { dir, dnsNames, ipAddresses, ...validity } = opts;
  return issueCert(
    ca,
    {
      ...validity,
      name,
      commonName: name,
      dnsNames: dnsNames ?? ["localhost"],
      ipAddresses: ipAddresses ?? ["127.0.0.1"],
      usage: "server",
    },
    dir,
  );
}
