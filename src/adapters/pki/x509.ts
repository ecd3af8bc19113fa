/**
 * X.509 certificates for TLS between local processes: a CA, intermediate CAs, serving certificates
 * with IP and DNS SANs (Go clients such as kube-apiserver ignore the CN), and client certificates
 * whose O values kube-apiserver reads as the user's groups. Keys are ECDSA P-256 from WebCrypto,
 * certificates are built by @peculiar/x509, and everything comes out as PEM (keys as PKCS#8).
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import {
  createPrivateKey,
  createPublicKey,
  KeyObject,
  randomBytes,
  X509Certificate,
  type webcrypto,
} from "node:crypto";
import { isIP } from "node:net";
import { IrsaError } from "../../core/errors.js";

x509.cryptoProvider.set(globalThis.crypto);

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 86_400_000;
/**
 * A default validity starts this far in the past: X.509 times are whole seconds, and a peer
 * comparing against a clock a little behind ours must not see a certificate from the future.
 */
const BACKDATE_MS = 5 * 60_000;
// The flags are bits; their union has no enum member of its own.
const CA_KEY_USAGE = (x509.KeyUsageFlags.keyCertSign |
  x509.KeyUsageFlags.cRLSign |
  x509.KeyUsageFlags.digitalSignature) as x509.KeyUsageFlags;
export const DEFAULT_LEAF_DAYS = 2;
export const DEFAULT_CA_DAYS = 3;

/** What a certificate is for (its extended key usage); leaf certificates only. */
export type CertUsage = "server" | "client" | "both";

export interface Validity {
  /** Default: five minutes ago. */
  readonly notBefore?: Date;
  /** Default: `days` after notBefore (after now when notBefore is not given). */
  readonly notAfter?: Date;
  /** Lifetime when notAfter is not given; default 2 for a leaf, 3 for a CA. */
  readonly days?: number;
}

export interface CertificateSpec extends Validity {
  readonly commonName: string;
  /** Subject O values; in a Kubernetes client certificate, the user's groups. */
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** serverAuth, clientAuth or both; default server. A serving certificate needs a SAN. */
  readonly usage?: CertUsage;
  /** A CA certificate (an intermediate, when signed by another CA) instead of a leaf. */
  readonly isCa?: boolean;
  /** CA only: how many intermediates may follow it in a chain; default unlimited. */
  readonly pathLength?: number;
}

export type CaSpec = Omit<CertificateSpec, "isCa" | "usage">;

/** A certificate and its private key. */
export interface PemPair {
  readonly certPem: string;
  /** PKCS#8 ("BEGIN PRIVATE KEY"). */
  readonly keyPem: string;
}

/** A self-signed root CA. */
export async function createCertificateAuthority(spec: CaSpec): Promise<PemPair> {
  return build({ ...spec, isCa: true }, undefined);
}

/** A certificate signed by `issuer` (a CA's certificate and key, e.g. from createCertificateAuthority). */
export async function signCertificate(issuer: PemPair, spec: CertificateSpec): Promise<PemPair> {
  const signer = await loadIssuer(issuer);
  if (spec.isCa === true && signer.pathLength === 0) {
    throw new IrsaError(
      "CERT_ISSUER_INVALID",
      `CA "${signer.name.toString()}" has pathLength 0: it may not issue another CA`,
      "issue the intermediate from a CA created without pathLength, or with a larger one",
    );
  }
  return build(spec, signer);
}

interface Signer {
  readonly name: x509.Name;
  readonly keyId: string;
  readonly key: webcrypto.CryptoKey;
  readonly pathLength: number | undefined;
}

function issuerError(message: string, cause?: unknown): IrsaError {
  return new IrsaError(
    "CERT_ISSUER_INVALID",
    message,
    "issue from the certPem and keyPem of one CA, as createCertificateAuthority returns them",
    { cause },
  );
}

async function loadIssuer(issuer: PemPair): Promise<Signer> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(issuer.certPem);
  } catch (e) {
    throw issuerError("the CA certificate is not a PEM X.509 certificate", e);
  }
  if (!cert.ca) throw issuerError(`"${cert.subject.replace(/\n/g, ", ")}" is not a CA certificate`);
  let key: KeyObject;
  try {
    key = createPrivateKey(issuer.keyPem);
  } catch (e) {
    throw issuerError("the CA key is not a PEM private key", e);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw issuerError("the CA key is not an ECDSA P-256 key");
  }
  const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) {
    throw issuerError("the CA key does not belong to the CA certificate");
  }
  const parsed = new x509.X509Certificate(issuer.certPem);
  const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    // The parsed subject, re-encoded as it was: Go matches a certificate's issuer to its CA's
    // subject byte for byte.
    name: parsed.subjectName,
    keyId: ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(parsed.publicKey)).keyId,
    key: key.toCryptoKey(KEY_ALGORITHM, false, ["sign"]),
    pathLength: parsed.getExtension(x509.BasicConstraintsExtension)?.pathLength,
  };
}

function invalid(message: string, hint: string): IrsaError {
  return new IrsaError("CERT_OPTIONS_INVALID", message, hint);
}

const DNS_LABEL = "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const DNS_NAME = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`);

function checkSpec(spec: CertificateSpec): void {
  if (spec.commonName.trim() === "") {
    throw invalid("a certificate needs a common name", "give commonName, e.g. the server's name");
  }
  for (const o of spec.organizations ?? []) {
    if (o.trim() === "") throw invalid("an organization (O) is empty", "drop the empty value");
  }
  for (const d of spec.dnsNames ?? []) {
    if (isIP(d) !== 0) {
      throw invalid(`DNS SAN "${d}" is an IP address`, "put IP addresses in ipAddresses, not dnsNames");
    }
    if (d.length > 253 || !DNS_NAME.test(d)) {
      throw invalid(`DNS SAN "${d}" is not a DNS name`, "use letters, digits, '-' and dots, e.g. localhost");
    }
  }
  for (const ip of spec.ipAddresses ?? []) {
    if (isIP(ip) === 0) {
      throw invalid(`IP SAN "${ip}" is not an IPv4 or IPv6 address`, "write it as 127.0.0.1 or ::1");
    }
  }
  const sans = (spec.dnsNames?.length ?? 0) + (spec.ipAddresses?.length ?? 0);
  if (spec.isCa !== true && (spec.usage ?? "server") !== "client" && sans === 0) {
    throw invalid(
      `serving certificate "${spec.commonName}" has no DNS or IP SAN`,
      "add dnsNames or ipAddresses: Go clients such as kube-apiserver ignore the common name",
    );
  }
  if (spec.pathLength !== undefined) {
    if (spec.isCa !== true) throw invalid("pathLength is for CA certificates", "drop it, or set isCa");
    if (!Number.isInteger(spec.pathLength) || spec.pathLength < 0) {
      throw invalid(`pathLength ${spec.pathLength} is not a whole number ≥ 0`, "use 0, 1, …");
    }
  }
}

function validity(spec: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  if (spec.notAfter !== undefined && spec.days !== undefined) {
    throw invalid("both notAfter and days were given", "give one of them");
  }
  for (const [what, d] of [
    ["notBefore", spec.notBefore],
    ["notAfter", spec.notAfter],
  ] as const) {
    if (d !== undefined && Number.isNaN(d.getTime()))
      throw invalid(`${what} is not a valid date`, "pass a Date");
  }
  const days = spec.days ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0) {
    throw invalid(`days ${days} is not a positive number`, "use e.g. 1 or 0.5");
  }
  const notBefore = spec.notBefore ?? new Date(now - BACKDATE_MS);
  const notAfter = spec.notAfter ?? new Date((spec.notBefore?.getTime() ?? now) + days * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw invalid(
      `notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`,
      "give a validity window that ends after it starts",
    );
  }
  return { notBefore, notAfter };
}

/** 16 random bytes, positive and minimally encoded (Go rejects other DER integers as serials). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x3f) | 0x40;
  return b.toString("hex");
}

async function build(spec: CertificateSpec, issuer: Signer | undefined): Promise<PemPair> {
  checkSpec(spec);
  const isCa = spec.isCa === true;
  const { notBefore, notAfter } = validity(spec, isCa ? DEFAULT_CA_DAYS : DEFAULT_LEAF_DAYS);
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  // Organizations before the common name, one per RDN, as openssl and Go write them.
  const subject = new x509.Name([
    ...(spec.organizations ?? []).map((o) => ({ O: [o] })),
    { CN: [spec.commonName] },
  ]);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCa, isCa ? spec.pathLength : undefined, true),
    new x509.KeyUsagesExtension(isCa ? CA_KEY_USAGE : x509.KeyUsageFlags.digitalSignature, true),
    ski,
  ];
  if (issuer !== undefined) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuer.keyId));
  if (!isCa) {
    const usage = spec.usage ?? "server";
    const ekus = {
      server: [x509.ExtendedKeyUsage.serverAuth],
      client: [x509.ExtendedKeyUsage.clientAuth],
      both: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    }[usage];
    extensions.push(new x509.ExtendedKeyUsageExtension(ekus));
  }
  const sans = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(spec.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: issuer?.name ?? subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer?.key ?? keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return {
    certPem: `${cert.toString("pem")}\n`,
    keyPem: KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
