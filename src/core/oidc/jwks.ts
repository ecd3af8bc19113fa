/** The JWKS document, byte-identical to what kube-apiserver serves at /openid/v1/jwks. Pure. */
import { goJson } from "../go/json.js";
import type { JsonWebKey } from "node:crypto";
import type { Curve, KeyAlgorithm, PublicKeyInfo } from "./keys.js";

/** A JWK with kube-apiserver's field order (go-jose): RSA use,kty,kid,alg,n,e; EC use,kty,kid,crv,alg,x,y. */
export type Jwk =
  | { use: "sig"; kty: "RSA"; kid: string; alg: KeyAlgorithm; n: string; e: string }
  | { use: "sig"; kty: "EC"; kid: string; crv: string; alg: KeyAlgorithm; x: string; y: string };

const COORD_BYTES: Readonly<Record<Curve, number>> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/**
 * Minimal big-endian bytes, as Go's big.Int.Bytes(): leading zero bytes dropped, but a zero value
 * keeps one byte (JWK members are never empty).
 */
export function minimalBigEndian(b64url: string): string {
  const bytes = Buffer.from(b64url, "base64url");
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString("base64url");
}

/** Left-padded with zero bytes to `size`, as go-jose's newFixedSizeBuffer; a longer value is refused. */
export function fixedSizeBigEndian(b64url: string, size: number): string {
  const v = Buffer.from(minimalBigEndian(b64url), "base64url");
  if (v.length > size) throw new RangeError(`EC coordinate of ${v.length} bytes exceeds ${size}`);
  return Buffer.concat([Buffer.alloc(size - v.length), v]).toString("base64url");
}

export function toJwk(k: PublicKeyInfo): Jwk {
  // Node's JWK export of an RSA key always has n and e, that of an EC key x and y.
  const j = k.key.export({ format: "jwk" }) as Required<Pick<JsonWebKey, "n" | "e" | "x" | "y">>;
  if (k.kty === "RSA") {
    return {
      use: "sig",
      kty: "RSA",
      kid: k.kid,
      alg: k.alg,
      n: minimalBigEndian(j.n),
      e: minimalBigEndian(j.e),
    };
  }
  const crv = k.crv ?? "P-256";
  const size = COORD_BYTES[crv];
  return {
    use: "sig",
    kty: "EC",
    kid: k.kid,
    crv,
    alg: k.alg,
    x: fixedSizeBigEndian(j.x, size),
    y: fixedSizeBigEndian(j.y, size),
  };
}

/** The JWKS document bytes, keys in the given order, no de-duplication (as kube-apiserver). */
export function jwksDocument(keys: readonly PublicKeyInfo[]): string {
  return goJson({ keys: keys.map(toJwk) });
}
