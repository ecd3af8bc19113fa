/**
 * The certificates of the webhook's own TLS as a Secret holds them: `ca.crt` (the CA bundle, the
 * signing CA first), `ca.key` (the signing CA's key), `tls.crt` and `tls.key` (the serving
 * certificate, as for a kubernetes.io/tls Secret). Parses them into the facts the core decides on,
 * and issues a new CA or serving certificate.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { StoredLeaf, StoredTls, Validity } from "../../core/tls/managed.js";
import { createCertificateAuthority, signCertificate, type PemPair } from "./x509.js";

export const CA_CERT_KEY = "ca.crt";
export const CA_KEY_KEY = "ca.key";
export const CERT_KEY = "tls.crt";
export const KEY_KEY = "tls.key";
/** When the first CA of ca.crt was added (ISO 8601); the core holds new leaves back until it propagated. */
export const CA_ADDED_AT_ANNOTATION = "irsa-anywhere.io/ca-added-at";

/** 10 years: the CA only signs the serving certificates, and is rotated at two thirds of that. */
export const MANAGED_CA_DAYS = 3650;
/** 90 days, renewed after 60 (as cert-manager's defaults): a month before it expires. */
export const MANAGED_LEAF_DAYS = 90;

/** The names a serving certificate must hold. */
export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** What the Secret holds, parsed, with the PEM text the caller serves, signs with or publishes. */
export interface ParsedManagedTls {
  readonly stored: StoredTls;
  /** ca.crt's certificates, signing CA first, as PEM blocks with their validity. */
  readonly cas: readonly (Validity & { readonly pem: string })[];
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const times = (x: X509Certificate): Validity => ({
  notBefore: x.validFromDate.getTime(),
  notAfter: x.validToDate.getTime(),
});

const unusable = (reason: string): ParsedManagedTls => ({
  stored: { kind: "unusable", reason },
  cas: [],
  caKeyPem: "",
  certPem: "",
  keyPem: "",
});

/** Parses a Secret's data (text) and annotations; undefined data means no Secret. */
export function parseManagedTls(
  data: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>>,
  names: ServingNames,
): ParsedManagedTls {
  if (data === undefined) return { ...unusable(""), stored: { kind: "absent" } };
  for (const k of [CA_CERT_KEY, CA_KEY_KEY, CERT_KEY, KEY_KEY]) {
    if ((data[k] ?? "") === "") return unusable(`${k} is missing`);
  }
  const caKeyPem = data[CA_KEY_KEY] ?? "";
  const certPem = data[CERT_KEY] ?? "";
  const keyPem = data[KEY_KEY] ?? "";
  const blocks = (data[CA_CERT_KEY] ?? "").match(PEM_CERT) ?? [];
  let cas: X509Certificate[];
  let leaf: X509Certificate;
  try {
    cas = blocks.map((b) => new X509Certificate(b));
    leaf = new X509Certificate(certPem);
  } catch (e) {
    return unusable(`a certificate does not parse: ${(e as Error).message}`);
  }
  const [first] = cas;
  if (first === undefined) return unusable(`${CA_CERT_KEY} holds no PEM certificate`);
  if (!cas.every((c) => c.ca)) return unusable(`${CA_CERT_KEY} holds a certificate that is not a CA`);
  try {
    if (!first.checkPrivateKey(createPrivateKey(caKeyPem))) {
      return unusable(`${CA_KEY_KEY} does not belong to the first certificate of ${CA_CERT_KEY}`);
    }
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) {
      return unusable(`${KEY_KEY} does not belong to ${CERT_KEY}`);
    }
  } catch (e) {
    return unusable(`a private key does not parse: ${(e as Error).message}`);
  }
  const coversNames =
    names.dnsNames.every((d) => leaf.checkHost(d, { subject: "never", wildcards: false }) !== undefined) &&
    names.ipAddresses.every((ip) => leaf.checkIP(ip) !== undefined);
  const stored: StoredLeaf = {
    ...times(leaf),
    issuedByFirstCa: leaf.checkIssued(first) && leaf.verify(first.publicKey),
    coversNames,
  };
  const added = Date.parse(annotations[CA_ADDED_AT_ANNOTATION] ?? "");
  return {
    stored: {
      kind: "stored",
      cas: cas.map(times),
      leaf: stored,
      caAddedAt: Number.isNaN(added) ? undefined : added,
    },
    cas: cas.map((c, i) => ({ ...times(c), pem: `${(blocks[i] ?? "").trim()}\n` })),
    caKeyPem,
    certPem,
    keyPem,
  };
}

/** A new self-signed CA for the webhook named `commonName`. */
export function newManagedCa(commonName: string): Promise<PemPair> {
  return createCertificateAuthority({ commonName: `${commonName} CA`, days: MANAGED_CA_DAYS });
}

/** A serving certificate for `names`, signed by `ca`. */
export function newServingCert(ca: PemPair, commonName: string, names: ServingNames): Promise<PemPair> {
  return signCertificate(ca, {
    commonName,
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    usage: "server",
    days: MANAGED_LEAF_DAYS,
  });
}
