/**
 * One sync of one target: read what it holds, merge the source's keys with the rotation memory
 * kept there, write only what changed (state, JWKS, discovery, in that order), read each write
 * back, and start over if another replica changed the state meanwhile.
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
}

/** How many times a sync starts over when another replica writes the state during it. */
const MAX_ROUNDS = 3;

async function readAll(target: Target): Promise<Map<string, StoredObject | undefined>> {
  const current = new Map<string, StoredObject | undefined>();
  for (const name of [STATE_OBJECT, JWKS_OBJECT, DISCOVERY_OBJECT])
    current.set(name, await target.read(name));
  return current;
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

async function verify(target: Target, w: ObjectWrite): Promise<void> {
  const back = await target.read(w.name);
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
    for (const w of writes) {
      await target.write(w.name, w.body, w.contentType, w.cacheControl);
      await verify(target, w);
      written.push(w.name);
    }
    // Another replica may have merged a key we do not see into the state meanwhile: our JWKS
    // must not be the last word then, so merge again with its state.
    const after = writes.length === 0 ? undefined : await target.read(STATE_OBJECT);
    if (after === undefined || sameObject(after, state) || round >= MAX_ROUNDS) {
      return {
        target: target.name,
        written,
        published: merged.published.length,
        retained: merged.retained,
        dropped: merged.dropped,
        rewrites: docs.rewrites,
        recovered,
      };
    }
  }
}
