/** The JWKS document, byte-identical to what kube-apiserver serves at /openid/v1/jwks. Pure. */
import { goJson } from "../go/json.js";
import type { KeyAlgorithm, PublicKeyInfo } from "./keys.js";

/** A JWK with kube-apiserver's field order (go-jose): RSA use,kty,kid,alg,n,e; EC use,kty,kid,crv,alg,x,y. */
export type Jwk =
  | { use: "sig"; kty: "RSA"; kid: string; alg: KeyAlgorithm; n: string; e: string }
  | { use: "sig"; kty: "EC"; kid: string; crv: string; alg: KeyAlgorithm; x: string; y: string };

const COORD_BYTES: Readonly<Record<string, number>> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** Minimal big-endian bytes (no leading zeros), as Go's big.Int.Bytes(). */
function minimal(b64url: string): string {
  const bytes = Buffer.from(b64url, "base64url");
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString("base64url");
}

/** Left-padded to the curve's field size, as go-jose's newFixedSizeBuffer. */
function fixed(b64url: string, size: number): string {
  const v = Buffer.from(minimal(b64url), "base64url");
  if (v.length > size) throw new RangeError(`EC coordinate of ${v.length} bytes exceeds ${size}`);
  return Buffer.concat([Buffer.alloc(size - v.length), v]).toString("base64url");
}

export function toJwk(k: PublicKeyInfo): Jwk {
  const j = k.key.export({ format: "jwk" });
  if (k.kty === "RSA") {
    return { use: "sig", kty: "RSA", kid: k.kid, alg: k.alg, n: minimal(j.n ?? ""), e: minimal(j.e ?? "") };
  }
  const crv = k.crv ?? "P-256";
  const size = COORD_BYTES[crv] ?? 32;
  return {
    use: "sig",
    kty: "EC",
    kid: k.kid,
    crv,
    alg: k.alg,
    x: fixed(j.x ?? "", size),
    y: fixed(j.y ?? "", size),
  };
}

/** The JWKS document bytes, keys in the given order, no de-duplication (as kube-apiserver). */
export function jwksDocument(keys: readonly PublicKeyInfo[]): string {
  return goJson({ keys: keys.map(toJwk) });
}
