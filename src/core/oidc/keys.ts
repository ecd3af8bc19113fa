/**
 * Key loading from PEM, as kube-apiserver reads --service-account-key-file and
 * --service-account-signing-key-file: RSA (PKCS#1, PKCS#8), EC P-256/P-384/P-521 (SEC1, PKCS#8),
 * public keys (SPKI, PKCS#1). Private keys give their public half. Pure: text in, keys out.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { IrsaError } from "../errors.js";

export type KeyAlgorithm = "RS256" | "ES256" | "ES384" | "ES512";
export type Curve = "P-256" | "P-384" | "P-521";

export interface PublicKeyInfo {
  readonly kty: "RSA" | "EC";
  readonly alg: KeyAlgorithm;
  readonly crv: Curve | undefined;
  /** The public key. */
  readonly key: KeyObject;
  /** DER SubjectPublicKeyInfo, the input of the kid. */
  readonly spki: Buffer;
  /** kube-apiserver's key id: base64url(SHA-256(DER SPKI)), no padding. */
  readonly kid: string;
  /** Where the key came from, for messages: "sa.key, PEM block 1". */
  readonly source: string;
}

export interface LoadedKey {
  readonly publicKey: PublicKeyInfo;
  /** Present when the PEM block held a private key. */
  readonly privateKey: KeyObject | undefined;
}

const CURVES: Readonly<Record<string, { crv: Curve; alg: KeyAlgorithm }>> = {
  prime256v1: { crv: "P-256", alg: "ES256" },
  secp384r1: { crv: "P-384", alg: "ES384" },
  secp521r1: { crv: "P-521", alg: "ES512" },
};

const PRIVATE_TYPES = new Set(["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"]);
const PUBLIC_TYPES = new Set(["PUBLIC KEY", "RSA PUBLIC KEY"]);
/** Blocks kube-apiserver tolerates beside keys (openssl ecparam -genkey writes one). */
const IGNORED_TYPES = new Set(["EC PARAMETERS"]);

interface PemBlock {
  readonly type: string;
  /** From its BEGIN line to its END line: RFC 1421 headers such as Proc-Type included. */
  readonly text: string;
  readonly index: number;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

function splitPem(pem: string, source: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let index = 0;
  for (const m of pem.matchAll(BEGIN)) {
    index++;
    const type = m[1] ?? "";
    const start = m.index;
    const endMarker = `-----END ${type}-----`;
    const end = pem.indexOf(endMarker, start);
    if (end < 0) {
      throw new IrsaError(
        "KEY_PEM_INVALID",
        `${source}, PEM block ${index} (${type}): no "${endMarker}" line; the file is truncated or damaged`,
        "copy the whole key file again, including its END line",
      );
    }
    blocks.push({ type, text: pem.slice(start, end + endMarker.length), index });
  }
  if (blocks.length === 0) {
    throw new IrsaError(
      "KEY_PEM_INVALID",
      `${source}: no PEM block found (expected a "-----BEGIN ... KEY-----" line)`,
      "pass a PEM key file such as the sa.key or sa.pub written by `irsa keys generate`",
    );
  }
  return blocks;
}

function describeKey(key: KeyObject, where: string): Pick<PublicKeyInfo, "kty" | "alg" | "crv"> {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return { kty: "RSA", alg: "RS256", crv: undefined };
    case "ec": {
      const named = key.asymmetricKeyDetails?.namedCurve ?? "unknown";
      const c = CURVES[named];
      if (c === undefined) {
        throw new IrsaError(
          "KEY_UNSUPPORTED_CURVE",
          `${where}: EC key on curve ${named} is not supported; kube-apiserver and AWS STS accept P-256, P-384 and P-521`,
          "generate a supported key: irsa keys generate --type ec --curve P-256",
        );
      }
      return { kty: "EC", alg: c.alg, crv: c.crv };
    }
    default:
      throw new IrsaError(
        "KEY_UNSUPPORTED_TYPE",
        `${where}: ${String(key.asymmetricKeyType).toUpperCase()} keys are not supported; kube-apiserver signs service-account tokens only with RSA or ECDSA keys`,
        "generate a supported key: irsa keys generate --type rsa",
      );
  }
}

function publicInfo(pub: KeyObject, where: string): PublicKeyInfo {
  const d = describeKey(pub, where);
  const spki = pub.export({ type: "spki", format: "der" });
  return { ...d, key: pub, spki, kid: keyId(spki), source: where };
}

/** base64url without padding of SHA-256 over DER SubjectPublicKeyInfo, as kube-apiserver computes it. */
export function keyId(spkiDer: Uint8Array): string {
  return createHash("sha256").update(spkiDer).digest("base64url");
}

/**
 * Parses every key in a PEM text. `source` names the input in error messages (a file path).
 * Throws IrsaError for anything kube-apiserver would not use as a service-account key.
 */
export function parseKeysPem(pem: string, source: string): LoadedKey[] {
  const out: LoadedKey[] = [];
  for (const block of splitPem(pem, source)) {
    const where = `${source}, PEM block ${block.index} (${block.type})`;
    if (IGNORED_TYPES.has(block.type)) continue;
    if (block.type === "CERTIFICATE" || block.type === "TRUSTED CERTIFICATE") {
      throw new IrsaError(
        "KEY_IS_CERTIFICATE",
        `${where}: this is a certificate, not a key`,
        `extract its public key with: openssl x509 -in ${source} -pubkey -noout > sa.pub`,
      );
    }
    // Only a header line can hold "Proc-Type:": base64 has neither ':' nor '-'.
    if (block.type === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(block.text)) {
      throw new IrsaError(
        "KEY_ENCRYPTED",
        `${where}: the private key is encrypted with a passphrase; kube-apiserver cannot read encrypted keys`,
        `write an unencrypted copy (keep it mode 0600): openssl pkey -in ${source} -out sa.key`,
      );
    }
    if (block.type === "DSA PRIVATE KEY" || block.type === "OPENSSH PRIVATE KEY") {
      throw new IrsaError(
        "KEY_UNSUPPORTED_TYPE",
        `${where}: ${block.type === "DSA PRIVATE KEY" ? "DSA keys are" : "OpenSSH-format keys are"} not supported; kube-apiserver needs an RSA or ECDSA key in PEM (PKCS#1, SEC1, PKCS#8 or SPKI)`,
        block.type === "OPENSSH PRIVATE KEY"
          ? `convert it: ssh-keygen -p -m PEM -f ${source}, or generate one: irsa keys generate`
          : "generate a supported key: irsa keys generate",
      );
    }
    const isPrivate = PRIVATE_TYPES.has(block.type);
    if (!isPrivate && !PUBLIC_TYPES.has(block.type)) {
      throw new IrsaError(
        "KEY_PEM_INVALID",
        `${where}: a "${block.type}" block is not a key`,
        "pass an RSA or ECDSA key in PEM form (BEGIN PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY)",
      );
    }
    let privateKey: KeyObject | undefined;
    let pub: KeyObject;
    try {
      if (isPrivate) {
        privateKey = createPrivateKey({ key: block.text, format: "pem" });
        pub = createPublicKey(privateKey);
      } else {
        pub = createPublicKey({ key: block.text, format: "pem" });
      }
    } catch (e) {
      throw new IrsaError(
        "KEY_PEM_INVALID",
        `${where}: the block does not decode as a ${isPrivate ? "private" : "public"} key (${(e as Error).message.replace(/^error:[0-9A-F]+:/i, "")})`,
        "the file is damaged or not a key; regenerate it with `irsa keys generate` or copy it again",
        { cause: e },
      );
    }
    out.push({ publicKey: publicInfo(pub, where), privateKey });
  }
  if (out.length === 0) {
    throw new IrsaError(
      "KEY_NOT_FOUND",
      `${source}: no key found, only ${[...new Set(splitPem(pem, source).map((b) => b.type))].join(", ")} blocks`,
      "pass a PEM file that holds an RSA or ECDSA key",
    );
  }
  return out;
}
