/**
 * A web identity token (a compact JWS) taken apart without trusting it: header, claims and the
 * signed bytes, each problem reported, never thrown. Pure.
 */
import { isObject, typeName, type JsonObject } from "../json.js";

export const SUPPORTED_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"] as const;
export type TokenAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface ParsedToken {
  readonly header: JsonObject;
  readonly claims: JsonObject;
  /** `header.payload` as sent: what the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

export type TokenParse = { ok: true; token: ParsedToken } | { ok: false; reason: string };

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodeJson(
  part: string,
  what: string,
): { ok: true; value: JsonObject } | { ok: false; reason: string } {
  if (!B64URL.test(part)) return { ok: false, reason: `the ${what} is not base64url` };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
  } catch {
    return { ok: false, reason: `the ${what} is not JSON` };
  }
  if (!isObject(value)) return { ok: false, reason: `the ${what} is ${typeName(value)}, not a JSON object` };
  return { ok: true, value };
}

/** Splits and decodes a compact JWS. */
export function parseToken(token: string): TokenParse {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return { ok: false, reason: `a JWT has three dot-separated parts, this has ${parts.length}` };
  }
  // Stryker disable next-line StringLiteral: the parts were counted to be three just above
  const [h = "", p = "", s = ""] = parts;
  const header = decodeJson(h, "header");
  if (!header.ok) return header;
  const claims = decodeJson(p, "payload");
  if (!claims.ok) return claims;
  if (!B64URL.test(s)) return { ok: false, reason: "the signature is not base64url" };
  return {
    ok: true,
    token: {
      header: header.value,
      claims: claims.value,
      signingInput: `${h}.${p}`,
      signature: Buffer.from(s, "base64url"),
    },
  };
}

/** The claims STS uses, type-checked. */
export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  /** `aud` as a list (a single string is a list of one); undefined when absent. */
  readonly aud: readonly string[] | undefined;
  readonly azp: string | undefined;
  readonly amr: readonly string[] | undefined;
  readonly exp: number;
  readonly nbf: number | undefined;
  readonly iat: number | undefined;
}

export type ClaimsCheck =
  { ok: true; claims: TokenClaims } | { ok: false; claim: string; want: string; missing: boolean };

/**
 * STS's documented rule: "Timestamps in the token must be formatted as either an integer or a long
 * integer", so 1.5 or "1700000000" is refused.
 */
function numericDate(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v);
}

export function readClaims(c: JsonObject): ClaimsCheck {
  const bad = (claim: string, want: string, missing = false): ClaimsCheck => ({
    ok: false,
    claim,
    want,
    missing,
  });
  if (c.iss === undefined) return bad("iss", "a string", true);
  if (typeof c.iss !== "string") return bad("iss", "a string");
  if (
    c.aud !== undefined &&
    typeof c.aud !== "string" &&
    !(Array.isArray(c.aud) && c.aud.every((a) => typeof a === "string"))
  )
    return bad("aud", "a string or an array of strings");
  if (c.azp !== undefined && typeof c.azp !== "string") return bad("azp", "a string");
  if (c.sub === undefined) return bad("sub", "a string", true);
  if (typeof c.sub !== "string") return bad("sub", "a string");
  if (c.exp === undefined) return bad("exp", "an integer", true);
  if (!numericDate(c.exp)) return bad("exp", "an integer");
  if (c.nbf !== undefined && !numericDate(c.nbf)) return bad("nbf", "an integer");
  if (c.iat !== undefined && !numericDate(c.iat)) return bad("iat", "an integer");
  let amr: string[] | undefined;
  if (c.amr !== undefined) {
    if (typeof c.amr === "string") amr = [c.amr];
    else if (Array.isArray(c.amr) && c.amr.every((a) => typeof a === "string")) amr = c.amr;
    else return bad("amr", "a string or an array of strings");
  }
  return {
    ok: true,
    claims: {
      iss: c.iss,
      sub: c.sub,
      aud: c.aud === undefined ? undefined : typeof c.aud === "string" ? [c.aud] : c.aud,
      azp: c.azp,
      amr,
      exp: c.exp as number,
      nbf: c.nbf as number | undefined,
      iat: c.iat as number | undefined,
    },
  };
}
