/**
 * Which objects a sync writes, in which order: the state first (so the memory of every published
 * key is stored before any document depends on it), then the JWKS, then the discovery document
 * (so a reader never finds a discovery document whose keys are not published yet). Only objects
 * whose bytes or content type differ are written. Pure.
 */
import { DISCOVERY_OBJECT, JWKS_OBJECT, STATE_OBJECT } from "./documents.js";

export interface StoredObject {
  readonly body: Buffer;
  /** undefined where the target keeps none (a directory). */
  readonly contentType: string | undefined;
  /**
   * The version a conditional write must name to replace this object (S3's ETag; a directory's
   * hash of the bytes); undefined where it is not known.
   */
  readonly etag?: string | undefined;
}

export interface ObjectWrite {
  readonly name: string;
  readonly body: string;
  readonly contentType: string;
  readonly cacheControl: string | undefined;
}

export const WRITE_ORDER: readonly string[] = [STATE_OBJECT, JWKS_OBJECT, DISCOVERY_OBJECT];

/** Whether `stored` already holds `want` (a target without content types compares bytes only). */
export function sameObject(stored: StoredObject | undefined, want: ObjectWrite): boolean {
  if (stored === undefined) return false;
  if (!stored.body.equals(Buffer.from(want.body, "utf8"))) return false;
  return stored.contentType === undefined || stored.contentType === want.contentType;
}

/** The writes needed, in WRITE_ORDER; empty when the target already holds everything. */
export function writesNeeded(
  desired: readonly ObjectWrite[],
  current: ReadonlyMap<string, StoredObject | undefined>,
): ObjectWrite[] {
  const rank = (w: ObjectWrite): number => {
    const i = WRITE_ORDER.indexOf(w.name);
    return i < 0 ? WRITE_ORDER.length : i;
  };
  return desired.filter((w) => !sameObject(current.get(w.name), w)).sort((a, b) => rank(a) - rank(b));
}
