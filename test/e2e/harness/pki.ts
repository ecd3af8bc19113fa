/**
 * The harness's CA and certificates are the product's (src/adapters/pki): one implementation for
 * the tests, the benchmarks and the local stack.
 */
export {
  createCa,
  issueCert,
  issueServingCert,
  type Ca,
  type Cert,
  type CertOptions,
} from "../../../src/adapters/pki/index.js";
