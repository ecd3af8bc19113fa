/**
 * The PKI adapter: what it issues is checked with Node's own X.509 parser (OpenSSL) and, where Node
 * shows nothing (criticality, pathLength, raw name bytes), by parsing the DER with @peculiar/x509.
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
// The adapter first: it installs what @peculiar/x509 needs before that library loads.
import {
  createCa,
  createCertificateAuthority,
  issueCert,
  issueServingCert,
  signCertificate,
  type Ca,
} from "../../src/adapters/pki/index.js";
import * as x509 from "@peculiar/x509";
import { IrsaError, type ErrorCode } from "../../src/core/errors.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const DAY_MS = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), "irsa-pki-unit-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh directory per CA, so file names never collide between tests. */
async function newCa(commonName = "test CA", opts: Parameters<typeof createCa>[2] = {}): Promise<Ca> {
  const d = join(dir, `ca-${++n}`);
  await mkdir(d);
  return createCa(d, commonName, opts);
}

function parsed(pem: string) {
  return new x509.X509Certificate(pem);
}

function rejectsWith(code: ErrorCode, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof IrsaError, `expected an IrsaError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(e.hint !== undefined && e.hint.length > 0, "every PKI error says how to fix it");
    return true;
  };
}

describe("createCa", () => {
  it("writes a self-signed CA with critical basicConstraints CA:TRUE and keyCertSign", async () => {
    const ca = await newCa("irsa test root");
    const cert = new X509Certificate(readFileSync(ca.certFile));
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, "CN=irsa test root");
    assert.ok(cert.checkIssued(cert), "self-issued");
    assert.ok(cert.verify(cert.publicKey), "self-signed");
    const bc = parsed(ca.certPem).getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.ca === true && bc.critical);
    const ku = parsed(ca.certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok(ku !== null && ku.critical && (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
    assert.equal(ca.caBundle, Buffer.from(readFileSync(ca.certFile, "utf8")).toString("base64"));
    assert.equal(ca.rootPem, ca.certPem);
    assert.equal(ca.chainPem, "");
  });

  it("writes an ECDSA P-256 PKCS#8 key, readable by its owner only", async () => {
    const ca = await newCa();
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(readFileSync(ca.keyFile, "utf8"), ca.keyPem);
    assert.equal(statSync(ca.keyFile).mode & 0o777, 0o600);
    const key = createPrivateKey(ca.keyPem);
    assert.equal(key.asymmetricKeyType, "ec");
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
  });

  it("lasts 3 days by default, starting a little in the past", async () => {
    const before = Date.now();
    const cert = new X509Certificate((await newCa()).certPem);
    assert.ok(cert.validFromDate.getTime() <= before && cert.validFromDate.getTime() > before - 10 * 60_000);
    const days = (cert.validToDate.getTime() - before) / DAY_MS;
    assert.ok(Math.abs(days - 3) < 0.01, `valid for ${days} days`);
  });
});

describe("issueServingCert", () => {
  it("issues a leaf the CA verifies, with 127.0.0.1 and localhost SANs and serverAuth only", async () => {
    const ca = await newCa();
    const leaf = await issueServingCert(ca, "webhook");
    const cert = new X509Certificate(readFileSync(leaf.certFile));
    const caCert = new X509Certificate(ca.certPem);
    assert.ok(cert.checkIssued(caCert), "issuer name and key identifier match the CA");
    assert.ok(cert.verify(caCert.publicKey), "signed by the CA's key");
    assert.equal(cert.ca, false);
    assert.equal(cert.subject, "CN=webhook");
    assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1");
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(cert.checkHost("localhost"), "localhost");
    assert.deepEqual(cert.keyUsage, [SERVER_AUTH]);
    const bc = parsed(leaf.certPem).getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.ca === false && bc.critical, "basicConstraints critical CA:FALSE");
    assert.equal(leaf.caPem, ca.certPem);
    assert.equal(leaf.caFile, ca.certFile);
    assert.equal(leaf.chainPem, leaf.certPem, "no intermediates under a root");
    assert.equal(leaf.chainFile, leaf.certFile);
  });

  it("encodes the issuer name byte for byte as the CA's subject (Go compares the bytes)", async () => {
    const ca = await newCa("irsa-anywhere local CA");
    const leaf = await issueServingCert(ca, "api");
    assert.equal(
      Buffer.from(parsed(leaf.certPem).issuerName.toArrayBuffer()).toString("hex"),
      Buffer.from(parsed(ca.certPem).subjectName.toArrayBuffer()).toString("hex"),
    );
  });

  it("takes the SANs asked for, IPv6 included", async () => {
    const leaf = await issueServingCert(await newCa(), "api", {
      dnsNames: ["kubernetes.default.svc", "*.example.com"],
      ipAddresses: ["10.0.0.1", "::1"],
    });
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(
      cert.subjectAltName,
      "DNS:kubernetes.default.svc, DNS:*.example.com, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    assert.equal(cert.checkIP("127.0.0.1"), undefined, "no default SAN beside those given");
  });

  it("writes a key that belongs to the certificate (a TLS context accepts the pair)", async () => {
    const ca = await newCa();
    const a = await issueServingCert(ca, "a");
    const b = await issueServingCert(ca, "b");
    createSecureContext({ cert: a.certPem, key: a.keyPem });
    assert.throws(() => createSecureContext({ cert: a.certPem, key: b.keyPem }), /key values mismatch/);
  });

  it("gives every certificate a different positive serial number", async () => {
    const ca = await newCa();
    const serials = await Promise.all(
      ["s1", "s2", "s3", "s4"].map(
        async (name) => new X509Certificate((await issueServingCert(ca, name)).certPem).serialNumber,
      ),
    );
    assert.equal(new Set(serials).size, 4);
    for (const s of serials)
      assert.match(s, /^[4-7][0-9A-F]{31}$/, "16 bytes, top bit clear, no leading zero");
  });
});

describe("issueCert", () => {
  it("issues a client certificate whose O values are the Kubernetes groups", async () => {
    const ca = await newCa();
    const admin = await issueCert(ca, {
      name: "admin",
      commonName: "irsa-admin",
      organizations: ["system:masters", "team-a"],
      usage: "client",
    });
    const cert = new X509Certificate(admin.certPem);
    assert.equal(cert.subject, "O=system:masters\nO=team-a\nCN=irsa-admin");
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.equal(cert.subjectAltName, undefined);
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  });

  it("issues a certificate for both server and client use", async () => {
    const both = await issueCert(await newCa(), {
      name: "peer",
      commonName: "peer",
      ipAddresses: ["127.0.0.1"],
      usage: "both",
    });
    assert.deepEqual(new X509Certificate(both.certPem).keyUsage.sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
  });

  it("honours an explicit validity window, already expired or not yet valid", async () => {
    const ca = await newCa();
    const now = Date.now();
    const expired = await issueCert(ca, {
      name: "expired",
      commonName: "expired",
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(now - 2 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    const future = await issueCert(ca, {
      name: "future",
      commonName: "future",
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(now + DAY_MS),
      days: 1,
    });
    const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;
    const e = new X509Certificate(expired.certPem);
    assert.equal(e.validFromDate.getTime(), seconds(now - 2 * DAY_MS));
    assert.equal(e.validToDate.getTime(), seconds(now - DAY_MS));
    assert.ok(e.validToDate.getTime() < Date.now(), "expired");
    const f = new X509Certificate(future.certPem);
    assert.equal(f.validFromDate.getTime(), seconds(now + DAY_MS));
    assert.equal(f.validToDate.getTime(), seconds(now + 2 * DAY_MS), "days count from notBefore");
    assert.ok(f.validFromDate.getTime() > Date.now(), "not yet valid");
  });

  it("a leaf from another CA fails verification against this one", async () => {
    const ours = await newCa("ours");
    const theirs = await newCa("ours"); // same name, different key
    const leaf = new X509Certificate((await issueServingCert(theirs, "x")).certPem);
    const oursCert = new X509Certificate(ours.certPem);
    assert.equal(leaf.verify(oursCert.publicKey), false);
    assert.equal(leaf.checkIssued(oursCert), false, "the authority key identifier differs");
    assert.equal(leaf.verify(new X509Certificate(theirs.certPem).publicKey), true);
  });

  it("issues an intermediate CA that issues leaves: root → intermediate → leaf", async () => {
    const root = await newCa("root");
    const sub = await issueCert(root, { name: "sub", commonName: "intermediate", isCa: true, pathLength: 0 });
    const leaf = await issueServingCert(sub, "leaf");
    const [rootCert, subCert, leafCert] = [root.certPem, sub.certPem, leaf.certPem].map(
      (p) => new X509Certificate(p),
    );
    assert.ok(rootCert && subCert && leafCert);
    assert.equal(subCert.ca, true);
    assert.ok(subCert.checkIssued(rootCert) && subCert.verify(rootCert.publicKey));
    assert.ok(leafCert.checkIssued(subCert) && leafCert.verify(subCert.publicKey));
    assert.equal(leafCert.verify(rootCert.publicKey), false, "the root did not sign the leaf");
    assert.equal(parsed(sub.certPem).getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
    assert.equal(
      leaf.chainPem,
      leaf.certPem + sub.certPem,
      "a server presents the leaf then the intermediate",
    );
    assert.equal(readFileSync(leaf.chainFile, "utf8"), leaf.chainPem);
    assert.equal(leaf.caPem, root.certPem, "clients trust the root");
    assert.equal(sub.caBundle, root.caBundle);
    // pathLength 0: the intermediate may sign leaves but no further CA.
    await assert.rejects(
      issueCert(sub, { name: "sub2", commonName: "too deep", isCa: true }),
      rejectsWith("CERT_ISSUER_INVALID", /pathLength 0/),
    );
  });
});

describe("errors", () => {
  it("refuses a serving certificate without a SAN (Go ignores the CN)", async () => {
    await assert.rejects(
      issueCert(await newCa(), { name: "cn-only", commonName: "localhost" }),
      rejectsWith("CERT_OPTIONS_INVALID", /no DNS or IP SAN/),
    );
  });

  it("refuses malformed names, addresses and windows", async () => {
    const ca = await newCa();
    const base = { name: "x", commonName: "x", ipAddresses: ["127.0.0.1"] };
    const cases: [Parameters<typeof issueCert>[1], RegExp][] = [
      [{ ...base, ipAddresses: ["127.0.0.300"] }, /not an IPv4 or IPv6 address/],
      [{ ...base, dnsNames: ["127.0.0.1"] }, /is an IP address/],
      [{ ...base, dnsNames: ["bad name"] }, /not a DNS name/],
      [{ ...base, commonName: " " }, /common name/],
      [{ ...base, organizations: [""] }, /organization/],
      [{ ...base, name: "../escape" }, /not a plain file name/],
      [
        { ...base, notBefore: new Date(Date.now()), notAfter: new Date(Date.now() - 1000) },
        /is not after notBefore/,
      ],
      [{ ...base, days: 0 }, /not a positive number/],
      [{ ...base, days: 1, notAfter: new Date(Date.now() + DAY_MS) }, /both notAfter and days/],
      [{ ...base, pathLength: 1 }, /pathLength is for CA certificates/],
      [{ ...base, notBefore: new Date(Number.NaN) }, /notBefore is not a valid date/],
    ];
    for (const [opts, pattern] of cases) {
      await assert.rejects(issueCert(ca, opts), rejectsWith("CERT_OPTIONS_INVALID", pattern));
    }
  });

  it("refuses to issue from a leaf, a mismatched key or a key of another type", async () => {
    const ca = await newCa();
    const leaf = await issueServingCert(ca, "leaf");
    const other = await createCertificateAuthority({ commonName: "other" });
    const spec = { commonName: "x", ipAddresses: ["127.0.0.1"] };
    await assert.rejects(
      signCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem }, spec),
      rejectsWith("CERT_ISSUER_INVALID", /is not a CA certificate/),
    );
    await assert.rejects(
      signCertificate({ certPem: ca.certPem, keyPem: other.keyPem }, spec),
      rejectsWith("CERT_ISSUER_INVALID", /does not belong/),
    );
    const rsa = readFileSync(join(KUBERNETES_VECTORS, "k8s-rsa-2048.key.pem"), "utf8");
    await assert.rejects(
      signCertificate({ certPem: ca.certPem, keyPem: rsa }, spec),
      rejectsWith("CERT_ISSUER_INVALID", /not an ECDSA P-256 key/),
    );
    await assert.rejects(
      signCertificate({ certPem: "not a certificate", keyPem: ca.keyPem }, spec),
      rejectsWith("CERT_ISSUER_INVALID", /not a PEM X.509 certificate/),
    );
  });
});
