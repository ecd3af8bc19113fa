/** HTTP caching of the served documents: a strong ETag of the bytes and If-None-Match. Pure. */
import { createHash } from "node:crypto";

/** A strong entity tag: the quoted base64url SHA-256 of the body. */
export function etagOf(body: string | Buffer): string {
  return `"${createHash("sha256").update(body).digest("base64url")}"`;
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 13.1.2: weak comparison, `*` matches
 * any current representation), so the answer is 304.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (t: string): string => (t.startsWith("W/") ? t.slice(2) : t);
  const want = opaque(etag);
  return header
    .split(",")
    .map((t) => t.trim())
    .some((t) => t === "*" || (t !== "" && opaque(t) === want));
}
