/**
 * The STS Query API (Version 2011-06-15): a request's parameters from the query string and a form
 * body, the action dispatched, and the XML answer (or AWS's XML error) with a request id and the
 * check that decided. Every input gives an answer; nothing here throws. Pure: state, keys, time and
 * randomness come in through `StsService`.
 */
import { checkWebIdentity, type CheckOptions, type KeyResolver, type Verdict } from "./check.js";
import type { StsConfig } from "./config.js";
import { assumedRole, newCredentials, type RandomBytes } from "./credentials.js";
import { stsError, type StsError } from "./errors.js";
import { checkAssumeParams, checkSessionPolicy } from "./params.js";
import { verifySigV4 } from "./sigv4.js";
import {
  assumeRoleWithWebIdentityXml,
  errorXml,
  getCallerIdentityXml,
  type IssuedCredentials,
} from "./xml.js";

export const STS_VERSION = "2011-06-15";

export interface IssuedRecord extends IssuedCredentials {
  readonly arn: string;
  readonly userId: string;
  readonly account: string;
}

/** Credentials issued, for GetCallerIdentity: bounded, expired ones dropped first. */
export class IssuedStore {
  private readonly byKey = new Map<string, IssuedRecord>();
  constructor(private readonly max = 100_000) {}
  put(r: IssuedRecord, nowMs: number): void {
    if (this.byKey.size >= this.max) {
      // Full: drop the expired, then the oldest down to 90% (a Map iterates in insertion order),
      // so that the sweep runs once per max/10 insertions, not on every one.
      for (const [k, v] of this.byKey) if (v.expiration <= nowMs) this.byKey.delete(k);
      const keep = Math.floor(this.max * 0.9);
      for (const k of this.byKey.keys()) {
        if (this.byKey.size <= keep) break;
        this.byKey.delete(k);
      }
    }
    this.byKey.set(r.accessKeyId, r);
  }
  get(accessKeyId: string): IssuedRecord | undefined {
    return this.byKey.get(accessKeyId);
  }
  get size(): number {
    return this.byKey.size;
  }
}

export interface StsService {
  config(): StsConfig;
  readonly resolver: KeyResolver;
  readonly issued: IssuedStore;
  /** Epoch milliseconds. */
  now(): number;
  readonly random: RandomBytes;
  readonly checkOptions?: Omit<CheckOptions, "now">;
}

export interface QueryRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface QueryAnswer {
  readonly status: number;
  readonly body: string;
  readonly requestId: string;
  readonly action: string;
  /** AWS's error code, when it failed. */
  readonly errorCode: string | undefined;
  /** The check that failed (or "ok"), for our log and the X-Irsa-Check header. */
  readonly check: string;
  readonly reason: string;
  /** The full verdict of an AssumeRoleWithWebIdentity that reached the token checks. */
  readonly verdict?: Verdict;
}

/** A random (version 4) UUID, as STS's request ids. */
export function requestId(random: RandomBytes): string {
  const b = Buffer.from(random(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Parameters: the query string, then (for a form POST) the body; the first value of a name wins. */
export function queryParams(req: QueryRequest): Map<string, string> {
  const out = new Map<string, string>();
  const add = (text: string): void => {
    for (const [k, v] of new URLSearchParams(text)) if (!out.has(k)) out.set(k, v);
  };
  add(req.query);
  const ct = req.headers["content-type"];
  const type = (Array.isArray(ct) ? ct[0] : ct)?.split(";")[0]?.trim().toLowerCase();
  if (req.method === "POST" && (type === undefined || type === "application/x-www-form-urlencoded")) {
    add(req.body.toString("utf8"));
  }
  return out;
}

function fail(
  action: string,
  id: string,
  e: StsError,
  check: string,
  reason: string,
  verdict?: Verdict,
): QueryAnswer {
  return {
    status: e.status,
    body: errorXml(e, id),
    requestId: id,
    action,
    errorCode: e.code,
    check,
    reason,
    ...(verdict ? { verdict } : {}),
  };
}

async function assume(params: Map<string, string>, svc: StsService, id: string): Promise<QueryAnswer> {
  const action = "AssumeRoleWithWebIdentity";
  const p = checkAssumeParams((n) => params.get(n));
  if (!p.ok) return fail(action, id, p.error, "parameters", p.problems.join("; "));
  if (params.has("ProviderId")) {
    // ProviderId names an OAuth 2.0 provider (www.amazon.com, graph.facebook.com); OIDC tokens must not carry it.
    return fail(
      action,
      id,
      stsError(
        "InvalidParameterValue",
        "ProviderId is only for OAuth 2.0 access tokens; omit it for OpenID Connect ID tokens.",
      ),
      "parameters",
      "ProviderId given",
    );
  }
  const bad = checkSessionPolicy(params.get("Policy"));
  if (bad !== undefined)
    return fail(action, id, bad, "parameters", "the session Policy is not a JSON object");
  const nowMs = svc.now();
  const verdict = await checkWebIdentity(
    {
      token: p.params.webIdentityToken,
      roleArn: p.params.roleArn,
      roleSessionName: p.params.roleSessionName,
      durationSeconds: p.params.durationSeconds,
    },
    svc.config(),
    svc.resolver,
    { ...svc.checkOptions, now: nowMs / 1000 },
  );
  if (!verdict.ok || verdict.grant === undefined) {
    const f = verdict.failed;
    return fail(
      action,
      id,
      f?.error ?? stsError("InternalFailure", "internal failure"),
      f?.name ?? "unknown",
      f?.reason ?? "",
      verdict,
    );
  }
  const g = verdict.grant;
  const creds = newCredentials(svc.random, nowMs, g.durationSeconds);
  const role = assumedRole(g, p.params.roleSessionName, creds);
  svc.issued.put({ ...creds, arn: role.arn, userId: role.assumedRoleId, account: g.role.arn.account }, nowMs);
  return {
    status: 200,
    body: assumeRoleWithWebIdentityXml(role, id),
    requestId: id,
    action,
    errorCode: undefined,
    check: "ok",
    reason: g.decision.reason,
    verdict,
  };
}

function callerIdentity(req: QueryRequest, svc: StsService, id: string): QueryAnswer {
  const action = "GetCallerIdentity";
  const r = verifySigV4(req, (akid) => svc.issued.get(akid), svc.now());
  if (!r.ok) return fail(action, id, r.error, "signature", r.reason);
  const rec = svc.issued.get(r.accessKeyId);
  if (rec === undefined)
    return fail(
      action,
      id,
      stsError("InvalidClientTokenId", "The security token included in the request is invalid."),
      "signature",
      "unknown key",
    );
  return {
    status: 200,
    body: getCallerIdentityXml({ arn: rec.arn, userId: rec.userId, account: rec.account }, id),
    requestId: id,
    action,
    errorCode: undefined,
    check: "ok",
    reason: `credentials ${rec.accessKeyId}`,
  };
}

/** Answers one Query API request. */
export async function answerQuery(req: QueryRequest, svc: StsService): Promise<QueryAnswer> {
  const id = requestId(svc.random);
  try {
    if (req.method !== "GET" && req.method !== "POST") {
      return fail(
        "",
        id,
        stsError(
          "InvalidAction",
          `The HTTP method ${req.method.slice(0, 32)} is not supported; use GET or POST.`,
        ),
        "method",
        req.method,
      );
    }
    const params = queryParams(req);
    const action = params.get("Action");
    const version = params.get("Version");
    if (action === undefined || action === "") {
      return fail("", id, stsError("MissingAction", "Missing Action"), "action", "no Action parameter");
    }
    const shown = action.slice(0, 128);
    if (
      version !== STS_VERSION ||
      (action !== "AssumeRoleWithWebIdentity" && action !== "GetCallerIdentity")
    ) {
      return fail(
        shown,
        id,
        stsError(
          "InvalidAction",
          `Could not find operation ${shown} for version ${(version ?? "NO_VERSION_SPECIFIED").slice(0, 64)}`,
        ),
        "action",
        `unsupported Action ${shown} or Version`,
      );
    }
    if (action === "GetCallerIdentity") return callerIdentity(req, svc, id);
    return await assume(params, svc, id);
  } catch (e) {
    return fail(
      "",
      id,
      stsError("InternalFailure", "An internal error occurred."),
      "internal",
      (e as Error).message,
    );
  }
}

/** A reason made safe for an HTTP header: printable ASCII, at most 500 characters. */
export function headerSafe(s: string): string {
  return s
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .slice(0, 500);
}
