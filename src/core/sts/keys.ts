/**
 * Verification keys from a JWKS document, and the signature check. Keys are imported once (a
 * KeyObject each), so verifying a token costs one `crypto.verify`. Pure (node:crypto computes only).
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { isObject, typeName } from "../json.js";
import type { TokenAlgorithm } from "./token.js";

export interface VerificationKey {
  readonly kid: string | undefined;
  readonly kty: "RSA" | "EC";
  /** The JWK's `alg` when it names one. */
  readonly alg: string | undefined;
  /** EC: P-256, P-384 or P-521. */
  readonly crv: string | undefined;
  readonly key: KeyObject;
}

export interface KeySet {
  readonly keys: readonly VerificationKey[];
  /** Keys that were skipped, and why (for doctor and the log). */
  readonly problems: readonly string[];
}

/** Parses a JWKS text. Throws nothing: a document that is not a JWKS gives no keys and a problem. */
export function parseJwks(text: string): KeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (e) {
    return { keys: [], problems: [`the JWKS is not JSON: ${(e as Error).message}`] };
  }
  if (!isObject(doc) || !Array.isArray(doc.keys)) {
    return { keys: [], problems: [`the JWKS is ${typeName(doc)} without a "keys" array`] };
  }
  const keys: VerificationKey[] = [];
  const problems: string[] = [];
  (doc.keys as unknown[]).forEach((k, i) => {
    const where = `keys[${i}]`;
    if (!isObject(k)) {
      problems.push(`${where} is ${typeName(k)}, not an object`);
      return;
    }
    const kid = typeof k.kid === "string" ? k.kid : undefined;
    if (k.use !== undefined && k.use !== "sig") {
      problems.push(`${where} (kid ${kid ?? "none"}) has use ${JSON.stringify(k.use)}, not "sig"`);
      return;
    }
    if (k.kty !== "RSA" && k.kty !== "EC") {
      problems.push(
        `${where} (kid ${kid ?? "none"}) has kty ${JSON.stringify(k.kty)}; STS accepts RSA and EC keys`,
      );
      return;
    }
    try {
      const key = createPublicKey({
        key: k as Parameters<typeof createPublicKey>[0] & object,
        format: "jwk",
      } as never);
      keys.push({
        kid,
        kty: k.kty,
        alg: typeof k.alg === "string" ? k.alg : undefined,
        crv: typeof k.crv === "string" ? k.crv : undefined,
        key,
      });
    } catch (e) {
      problems.push(
        `${where} (kid ${kid ?? "none"}) is not a valid ${k.kty} public key: ${(e as Error).message}`,
      );
    }
  });
  return { keys, problems };
}

const HASH: Readonly<Record<TokenAlgorithm, string>> = {
  RS256: "sha256",
  RS384: "sha384",
  RS512: "sha512",
  ES256: "sha256",
  ES384: "sha384",
  ES512: "sha512",
};
const CURVE: Readonly<Record<string, string>> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };
/** Signature bytes of an ES* JWS (r || s, each the curve size). */
const EC_SIG_BYTES: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/** Whether `key` can verify `alg` (an RSA key for RS*, an EC key on the algorithm's curve for ES*). */
export function keyFits(key: VerificationKey, alg: TokenAlgorithm): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (alg.startsWith("RS")) return key.kty === "RSA";
  return key.kty === "EC" && key.crv === CURVE[alg];
}

/** One signature check; false (never a throw) for a signature of the wrong size or shape. */
export function verifySignature(
  alg: TokenAlgorithm,
  key: VerificationKey,
  input: string,
  sig: Buffer,
): boolean {
  if (!keyFits(key, alg)) return false;
  const data = Buffer.from(input, "latin1");
  try {
    if (alg.startsWith("ES")) {
      if (sig.length !== EC_SIG_BYTES[alg]) return false;
      return verify(HASH[alg], data, { key: key.key, dsaEncoding: "ieee-p1363" }, sig);
    }
    return verify(HASH[alg], data, key.key, sig);
  } catch {
    return false;
  }
}
