/**
 * An issuer's verification keys for the STS checks: a JWKS file, or discovery and JWKS fetched over
 * HTTPS (the discovery `issuer` must equal the provider's URL byte for byte), cached with a TTL and
 * refetched, at most once per `minRefetchMs` per provider, when a token names an unknown kid.
 */
import type { KeyLookup, KeyResolver } from "../../core/sts/check.js";
import type { ProviderConfig } from "../../core/sts/config.js";
import { parseJwks, type KeySet } from "../../core/sts/keys.js";
import { isObject } from "../../core/json.js";
import type { Log } from "../../runtime/log.js";
import { fetchHttps, type FetchOptions } from "./fetch.js";

export interface ResolverOptions {
  /** Keys of providers with a jwksFile, by issuer (read by the caller with the config). */
  readonly staticKeys: ReadonlyMap<string, KeySet>;
  readonly ttlMs?: number;
  readonly minRefetchMs?: number;
  readonly log: Log;
  readonly now?: () => number;
  /** Replaces the HTTPS fetch (benchmarks); the default is fetchHttps. */
  readonly fetch?: (url: string, opts: FetchOptions) => Promise<{ body: string }>;
}

interface Entry {
  keys: KeySet | undefined;
  fetchedAt: number;
  lastAttempt: number;
  error: string | undefined;
  inflight: Promise<void> | undefined;
}

/** Fetches discovery then the JWKS it names; throws with the reason. */
export async function fetchIssuerKeys(
  issuer: string,
  opts: FetchOptions,
  fetch: NonNullable<ResolverOptions["fetch"]> = fetchHttps,
): Promise<KeySet> {
  const discoveryUrl = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const d = await fetch(discoveryUrl, opts);
  let doc: unknown;
  try {
    doc = JSON.parse(d.body) as unknown;
  } catch {
    throw new Error(`${discoveryUrl} is not JSON`);
  }
  if (!isObject(doc)) throw new Error(`${discoveryUrl} is not a JSON object`);
  if (doc.issuer !== issuer) {
    throw new Error(
      `discovery at ${discoveryUrl} names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`,
    );
  }
  if (typeof doc.jwks_uri !== "string" || !doc.jwks_uri.startsWith("https://")) {
    throw new Error(`discovery at ${discoveryUrl} has no https jwks_uri (${JSON.stringify(doc.jwks_uri)})`);
  }
  const j = await fetch(doc.jwks_uri, opts);
  const set = parseJwks(j.body);
  if (set.keys.length === 0)
    throw new Error(`the JWKS at ${doc.jwks_uri} has no usable key: ${set.problems.join("; ")}`);
  return set;
}

export class IssuerKeyResolver implements KeyResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly minRefetchMs: number;
  private readonly now: () => number;
  /** Fetches made, for tests and metrics. */
  fetches = 0;

  constructor(private readonly opts: ResolverOptions) {
    this.ttlMs = opts.ttlMs ?? 15 * 60_000;
    this.minRefetchMs = opts.minRefetchMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async keysFor(p: ProviderConfig, kid: string | undefined): Promise<KeyLookup> {
    const fixed = this.opts.staticKeys.get(p.issuer);
    if (fixed !== undefined) {
      return fixed.keys.length > 0
        ? { ok: true, keys: fixed.keys }
        : { ok: false, reason: `jwksFile has no usable key: ${fixed.problems.join("; ")}` };
    }
    const key = `${p.issuer}\n${p.caFile ?? ""}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { keys: undefined, fetchedAt: 0, lastAttempt: -Infinity, error: undefined, inflight: undefined };
      this.entries.set(key, e);
    }
    const now = this.now();
    const stale = e.keys === undefined || now - e.fetchedAt > this.ttlMs;
    const unknownKid = kid !== undefined && e.keys !== undefined && !e.keys.keys.some((k) => k.kid === kid);
    if ((stale || unknownKid) && now - e.lastAttempt >= this.minRefetchMs) await this.refresh(e, p);
    else if (e.inflight !== undefined) await e.inflight;
    if (e.keys === undefined) return { ok: false, reason: e.error ?? "keys not fetched yet" };
    return { ok: true, keys: e.keys.keys };
  }

  private refresh(e: Entry, p: ProviderConfig): Promise<void> {
    e.inflight ??= (async () => {
      e.lastAttempt = this.now();
      this.fetches++;
      try {
        e.keys = await fetchIssuerKeys(p.issuer, { caFile: p.caFile }, this.opts.fetch);
        e.fetchedAt = this.now();
        e.error = undefined;
        this.opts.log.info(
          { issuer: p.issuer, keys: e.keys.keys.length, problems: e.keys.problems },
          "issuer keys fetched",
        );
      } catch (err) {
        e.error = (err as Error).message;
        // Keys fetched before stay in use until the fetch works again.
        this.opts.log.warn(
          { issuer: p.issuer, err: e.error, keptOld: e.keys !== undefined },
          "cannot fetch issuer keys",
        );
      } finally {
        e.inflight = undefined;
      }
    })();
    return e.inflight;
  }
}
