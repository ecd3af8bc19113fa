/**
 * AWS Signature Version 4 verification for signed calls (GetCallerIdentity) with credentials this
 * STS issued, with AWS's error codes. The Authorization header form only (presigned URLs are not
 * accepted). Pure (node:crypto computes only).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { stsError, type StsError } from "./errors.js";

export interface SignedRequest {
  readonly method: string;
  /** The path as sent, without the query. */
  readonly path: string;
  /** The query string as sent, without "?". */
  readonly query: string;
  /** Lower-case header names, as Node gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface SecretLookup {
  /** The secret and session token for an access key id we issued; undefined if unknown. */
  (accessKeyId: string): { secretAccessKey: string; sessionToken: string; expiration: number } | undefined;
}

export type SigV4Result = { ok: true; accessKeyId: string } | { ok: false; error: StsError; reason: string };

const AUTH =
  /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/;

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, "%20"));
  } catch {
    return s;
  }
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const i = p.indexOf("=");
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? "" : p.slice(i + 1);
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function header(h: SignedRequest["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
}

const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac("sha256", key).update(data, "utf8").digest();
const sha256hex = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

/** Verifies the request's signature; `nowMs` for the date and credential expiry checks. */
export function verifySigV4(req: SignedRequest, lookup: SecretLookup, nowMs: number): SigV4Result {
  const auth = header(req.headers, "authorization");
  if (auth === undefined || auth === "") {
    return {
      ok: false,
      reason: "no Authorization header",
      error: stsError("MissingAuthenticationToken", "Request is missing Authentication Token"),
    };
  }
  const m = AUTH.exec(auth.trim());
  if (m === null) {
    return {
      ok: false,
      reason: "the Authorization header is not a SigV4 header",
      error: stsError(
        "IncompleteSignature",
        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
      ),
    };
  }
  const [, akid = "", date = "", region = "", service = "", signedHeaders = "", signature = ""] = m;
  const creds = lookup(akid);
  if (creds === undefined) {
    return {
      ok: false,
      reason: `access key ${akid} was not issued by this STS`,
      error: stsError("InvalidClientTokenId", "The security token included in the request is invalid."),
    };
  }
  if (header(req.headers, "x-amz-security-token") !== creds.sessionToken) {
    return {
      ok: false,
      reason: "the session token does not belong to the access key",
      error: stsError("InvalidClientTokenId", "The security token included in the request is invalid."),
    };
  }
  if (creds.expiration <= nowMs) {
    return {
      ok: false,
      reason: "the credentials have expired",
      error: stsError("ExpiredToken", "The security token included in the request is expired"),
    };
  }
  const amzDate = header(req.headers, "x-amz-date") ?? "";
  const names = signedHeaders.split(";");
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date) || !names.includes("host")) {
    return {
      ok: false,
      reason: "X-Amz-Date is missing or does not match the credential scope, or host is not signed",
      error: stsError(
        "IncompleteSignature",
        "Date must be in ISO-8601 'basic format'. Got '" + amzDate + "'.",
      ),
    };
  }
  const t = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  // AWS allows 15 minutes of clock difference before "Signature expired".
  if (Math.abs(nowMs - t) > 15 * 60_000) {
    return {
      ok: false,
      reason: "the request's date is more than 15 minutes off",
      error: stsError(
        "SignatureDoesNotMatch",
        `Signature expired: ${amzDate} is now earlier or later than the allowed 15 minutes.`,
      ),
    };
  }
  const canonicalHeaders = names
    .map((n) => `${n}:${(header(req.headers, n) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  // The hash of the body as received, never the client's x-amz-content-sha256: a body changed after
  // signing must not verify (when the header is sent and signed, an honest one equals this hash).
  const payloadHash = sha256hex(req.body);
  const canonical = [
    req.method,
    req.path,
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date), region), service), "aws4_request");
  const expected = createHmac("sha256", key).update(toSign, "utf8").digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    return {
      ok: false,
      reason: "the signature does not match",
      error: stsError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      ),
    };
  }
  return { ok: true, accessKeyId: akid };
}
