/**
 * Rotation memory: which keys the issuer has published and when each left the source. The JWKS
 * published is the source's keys plus every key that left less than `retain` ago, so a token
 * signed just before a rotation still verifies until it expires. The state is an object kept in
 * each target beside the documents, so every replica, run and machine agrees. It changes only
 * when a key appears, leaves, comes back or is dropped: an unchanged source writes nothing. Pure.
 */
import { IrsaError } from "../errors.js";
import { Fields, isObject, type JsonObject } from "../json.js";
import type { JwkObject } from "./documents.js";

export interface StateKey {
  readonly kid: string;
  readonly jwk: JwkObject;
  /** ISO time this key was first published. */
  readonly firstSeen: string;
  /** ISO time it was first seen missing from the source; absent while it is in the source. */
  readonly removedAt?: string;
}

export interface IssuerState {
  readonly version: 1;
  readonly keys: readonly StateKey[];
}

export const EMPTY_STATE: IssuerState = { version: 1, keys: [] };

/** 25 h: longer than the longest token lifetime STS accepts from IRSA (24 h) plus margin. */
export const DEFAULT_RETAIN_MS = 25 * 3600 * 1000;

export function stateText(s: IssuerState): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

function isoTime(f: Fields, o: JsonObject, key: string, path: string): string | undefined {
  const v = f.optString(o, key, path);
  if (v !== undefined && Number.isNaN(Date.parse(v))) throw f.fail(`${path}.${key}`, `"${v}" is not a time`);
  return v;
}

/** Parses the state object; a truncated or foreign object is STATE_INVALID naming where. */
export function parseState(text: string, where: string): IssuerState {
  const f = new Fields(
    (path, problem) =>
      new IrsaError(
        "STATE_INVALID",
        `state object ${where}: ${path}: ${problem}`,
        "it is rebuilt from the published JWKS; delete it if it keeps failing",
      ),
  );
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (e) {
    throw new IrsaError(
      "STATE_INVALID",
      `state object ${where} is not JSON (truncated or overwritten?): ${(e as Error).message}`,
      "it is rebuilt from the published JWKS; delete it if it keeps failing",
      { cause: e },
    );
  }
  if (!isObject(doc)) throw f.fail("(document)", "expected an object");
  if (doc["version"] !== 1) throw f.fail("version", `expected 1, got ${JSON.stringify(doc["version"])}`);
  const keys = f.optObjectArray(doc, "keys", "") ?? [];
  return {
    version: 1,
    keys: keys.map((k, i) => {
      const path = `keys[${i}]`;
      const kid = f.nonEmptyString(k, "kid", path);
      const jwk = f.reqObject(k, "jwk", path);
      if (jwk["kid"] !== kid) throw f.fail(`${path}.jwk.kid`, `does not match kid "${kid}"`);
      const firstSeen = isoTime(f, k, "firstSeen", path) ?? new Date(0).toISOString();
      const removedAt = isoTime(f, k, "removedAt", path);
      return removedAt === undefined
        ? { kid, jwk: jwk as JwkObject, firstSeen }
        : { kid, jwk: jwk as JwkObject, firstSeen, removedAt };
    }),
  };
}

/**
 * A state for a target that has none (or a damaged one): the keys already published there are
 * kept as if they had just left the source, so nothing live is dropped by the first run.
 */
export function stateFromPublished(published: readonly JwkObject[], nowMs: number): IssuerState {
  const now = new Date(nowMs).toISOString();
  const seen = new Set<string>();
  const keys: StateKey[] = [];
  for (const jwk of published) {
    if (seen.has(jwk.kid)) continue;
    seen.add(jwk.kid);
    keys.push({ kid: jwk.kid, jwk, firstSeen: now, removedAt: now });
  }
  return { version: 1, keys };
}

export interface Merged {
  readonly state: IssuerState;
  /** The JWKS keys: the source's in its order, then the retained ones. */
  readonly published: readonly JwkObject[];
  /** Keys that left the source `retain` ago or more, now dropped. */
  readonly dropped: readonly string[];
  /** Keys retained although no longer in the source. */
  readonly retained: readonly string[];
  readonly changed: boolean;
}

/** The next state and the keys to publish, at `nowMs`. */
export function mergeKeys(
  source: readonly JwkObject[],
  prev: IssuerState,
  nowMs: number,
  retainMs: number,
): Merged {
  const now = new Date(nowMs).toISOString();
  const inSource = new Map<string, JwkObject>();
  for (const k of source) if (!inSource.has(k.kid)) inSource.set(k.kid, k);
  const keys: StateKey[] = [];
  const retainedKeys: JwkObject[] = [];
  const dropped: string[] = [];
  const known = new Set<string>();
  for (const old of prev.keys) {
    if (known.has(old.kid)) continue;
    known.add(old.kid);
    const jwk = inSource.get(old.kid);
    if (jwk !== undefined) {
      keys.push({ kid: old.kid, jwk, firstSeen: old.firstSeen });
      continue;
    }
    const removedAt = old.removedAt ?? now;
    if (nowMs - Date.parse(removedAt) >= retainMs) {
      dropped.push(old.kid);
      continue;
    }
    keys.push({ kid: old.kid, jwk: old.jwk, firstSeen: old.firstSeen, removedAt });
    retainedKeys.push(old.jwk);
  }
  for (const [kid, jwk] of inSource) {
    if (!known.has(kid)) keys.push({ kid, jwk, firstSeen: now });
  }
  const state: IssuerState = { version: 1, keys };
  return {
    state,
    published: [...source, ...retainedKeys],
    dropped,
    retained: retainedKeys.map((k) => k.kid),
    changed: stateText(state) !== stateText(prev),
  };
}
