/** Certificates for TLS between local processes: in memory (x509.ts) or as files (files.ts). */
export {
  createCertificateAuthority,
  DEFAULT_CA_DAYS,
  DEFAULT_LEAF_DAYS,
  signCertificate,
  type CaSpec,
  type CertificateSpec,
  type CertUsage,
  type PemPair,
  type Validity,
} from "./x509.js";
export { createCa, issueCert, issueServingCert, type Ca, type Cert, type CertOptions } from "./files.js";
