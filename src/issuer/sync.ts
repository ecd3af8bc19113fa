/**
 * One sync of one target: read what it holds, merge the source's keys with the rotation memory
 * kept there, write only what changed (state, JWKS, discovery, in that order), read each write
 * back. Every write is conditional on the version read (compare-and-swap): when another replica
 * wrote meanwhile, the write is refused (TARGET_CONFLICT) and the sync starts over from what that
 * replica wrote, so no replica ever replaces a JWKS with one computed without its keys.
 *
 * Why this is enough: the JWKS is read before the state, and every writer stores its state before
 * its JWKS, so the state read is at least as new as the one the JWKS read was computed from; every
 * key in that JWKS is in that state (or was dropped there after --retain), so the merge keeps it;
 * and the JWKS write only succeeds if the JWKS is still the one read.
 */
import { IrsaError, isIrsaError } from "../core/errors.js";
import {
  DISCOVERY_CONTENT_TYPE,
  DISCOVERY_OBJECT,
  DOCUMENT_CACHE_CONTROL,
  JWKS_CONTENT_TYPE,
  JWKS_OBJECT,
  parseJwks,
  publishedDocuments,
  STATE_OBJECT,
  type JwkObject,
} from "../core/issuer/documents.js";
import { sameObject, writesNeeded, type ObjectWrite, type StoredObject } from "../core/issuer/plan.js";
import {
  mergeKeys,
  parseState,
  stateFromPublished,
  stateText,
  type IssuerState,
} from "../core/issuer/state.js";
import type { SourceSnapshot } from "./source.js";
import type { Target } from "./target.js";

export interface SyncOptions {
  readonly retainMs: number;
  readonly publicIssuer: string | undefined;
  readonly now: () => number;
}

export interface SyncResult {
  readonly target: string;
  /** Objects written, in order; empty when the target was already current. */
  readonly written: readonly string[];
  readonly published: number;
  readonly retained: readonly string[];
  readonly dropped: readonly string[];
  readonly rewrites: readonly string[];
  /** Problems recovered from (a damaged state object rebuilt from the published JWKS). */
  readonly recovered: readonly IrsaError[];
  /** Writes refused because another replica wrote first; each made the sync start over. */
  readonly conflicts: readonly IrsaError[];
}

/** How many times a sync starts over when another replica writes during it. */
const MAX_ROUNDS = 5;

/** The JWKS before the state (see above); the discovery document last. */
const READ_ORDER = [JWKS_OBJECT, STATE_OBJECT, DISCOVERY_OBJECT];

async function readAll(target: Target): Promise<Map<string, StoredObject | undefined>> {
  const current = new Map<string, StoredObject | undefined>();
  for (const name of READ_ORDER) current.set(name, await target.read(name));
  return current;
}

function isConflict(e: unknown): e is IrsaError {
  return isIrsaError(e) && e.code === "TARGET_CONFLICT";
}

function publishedKeys(stored: StoredObject | undefined, where: string): JwkObject[] {
  if (stored === undefined) return [];
  return parseJwks(stored.body.toString("utf8"), where);
}

/** The rotation memory held by the target, rebuilt from its published JWKS when missing or damaged. */
function previousState(
  current: ReadonlyMap<string, StoredObject | undefined>,
  target: Target,
  nowMs: number,
  recovered: IrsaError[],
): IssuerState {
  const stored = current.get(STATE_OBJECT);
  const where = `${target.name} ${STATE_OBJECT}`;
  if (stored !== undefined) {
    try {
      return parseState(stored.body.toString("utf8"), where);
    } catch (e) {
      if (!isIrsaError(e)) throw e;
      recovered.push(e);
    }
  }
  try {
    return stateFromPublished(
      publishedKeys(current.get(JWKS_OBJECT), `${target.name} ${JWKS_OBJECT}`),
      nowMs,
    );
  } catch (e) {
    if (stored === undefined) {
      // No state and a damaged JWKS: nothing live can be recovered from it; the source's keys replace it.
      recovered.push(e as IrsaError);
      return stateFromPublished([], nowMs);
    }
    throw new IrsaError(
      "STATE_INVALID",
      `${where} and the published JWKS are both damaged: the keys still live cannot be known`,
      `delete ${where} to publish only the source's keys (tokens signed with older keys will fail)`,
      { cause: e },
    );
  }
}

/** Reads a write back; TARGET_CONFLICT when another writer replaced it since (its etag differs). */
async function verify(target: Target, w: ObjectWrite, etag: string | undefined): Promise<void> {
  const back = await target.read(w.name);
  if (back !== undefined && etag !== undefined && back.etag !== undefined && back.etag !== etag) {
    throw new IrsaError(
      "TARGET_CONFLICT",
      `${target.name} ${w.name} was replaced by another writer right after this write`,
      "the sync reads it again and merges",
    );
  }
  if (!sameObject(back, w)) {
    throw new IrsaError(
      "TARGET_VERIFY_FAILED",
      `${target.name} ${w.name} reads back ${back === undefined ? "missing" : `different (${back.body.length} bytes, ${back.contentType ?? "no content type"})`} after writing ${Buffer.byteLength(w.body)} bytes`,
      "another writer may be publishing to the same place with other settings; the next sync retries",
    );
  }
}

export async function syncTarget(src: SourceSnapshot, target: Target, o: SyncOptions): Promise<SyncResult> {
  const written: string[] = [];
  const recovered: IrsaError[] = [];
  const conflicts: IrsaError[] = [];
  for (let round = 1; ; round++) {
    const nowMs = o.now();
    const current = await readAll(target);
    const prev = previousState(current, target, nowMs, recovered);
    const merged = mergeKeys(src.keys, prev, nowMs, o.retainMs);
    const docs = publishedDocuments(src.discovery, merged.published, o.publicIssuer);
    const state: ObjectWrite = {
      name: STATE_OBJECT,
      body: stateText(merged.state),
      contentType: "application/json",
      cacheControl: "no-store",
    };
    const desired: ObjectWrite[] = [
      state,
      {
        name: JWKS_OBJECT,
        body: docs.jwks,
        contentType: JWKS_CONTENT_TYPE,
        cacheControl: DOCUMENT_CACHE_CONTROL,
      },
      {
        name: DISCOVERY_OBJECT,
        body: docs.discovery,
        contentType: DISCOVERY_CONTENT_TYPE,
        cacheControl: DOCUMENT_CACHE_CONTROL,
      },
    ];
    const writes = writesNeeded(desired, current);
    try {
      for (const w of writes) {
        const etag = await target.write(
          w.name,
          w.body,
          w.contentType,
          w.cacheControl,
          current.get(w.name)?.etag,
        );
        written.push(w.name);
        await verify(target, w, etag);
      }
    } catch (e) {
      if (!isConflict(e)) throw e;
      if (round >= MAX_ROUNDS) {
        throw new IrsaError(
          "TARGET_CONFLICT",
          `${target.name}: another writer changed the documents during each of ${MAX_ROUNDS} attempts`,
          "the next sync retries; check that every replica publishing here runs the same version and settings",
          { cause: e },
        );
      }
      conflicts.push(e);
      continue;
    }
    return {
      target: target.name,
      written,
      published: merged.published.length,
      retained: merged.retained,
      dropped: merged.dropped,
      rewrites: docs.rewrites,
      recovered,
      conflicts,
    };
  }
}
