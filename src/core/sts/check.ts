/**
 * Every check STS makes on AssumeRoleWithWebIdentity, as a list of named results with pass, fail or
 * skip and a reason; the first failure carries AWS's error. The order inside real STS is not
 * documented; this one (parse, issuer, audience, keys, signature, lifetime, role, trust policy,
 * duration) follows what public reports of real STS answers show. Pure: the keys come through a
 * resolver port and the time is passed in.
 */
import { evaluateTrustPolicy, type PolicyDecision } from "../trust-policy/evaluate.js";
import { providerArn } from "./arn.js";
import type { ProviderConfig, RoleConfig, StsConfig } from "./config.js";
import { MESSAGES, stsError, type StsError } from "./errors.js";
import { verifySignature, type VerificationKey } from "./keys.js";
import { DEFAULT_DURATION } from "./params.js";
import {
  parseToken,
  readClaims,
  SUPPORTED_ALGORITHMS,
  type TokenAlgorithm,
  type TokenClaims,
} from "./token.js";

export const CHECK_NAMES = [
  "token-format",
  "algorithm",
  "claims",
  "issuer",
  "audience",
  "keys",
  "signature",
  "expiry",
  "not-before",
  "issued-at",
  "role",
  "trust-policy",
  "duration",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  readonly name: CheckName;
  readonly status: "pass" | "fail" | "skip";
  readonly reason: string;
  /** On a failure: what STS answers. */
  readonly error?: StsError;
}

export type KeyLookup = { ok: true; keys: readonly VerificationKey[] } | { ok: false; reason: string };

/** Where keys come from: a JWKS file, or discovery and JWKS fetched and cached (an adapter). */
export interface KeyResolver {
  /** The provider's keys; with a kid not among them, a fetching resolver may refetch (rate-limited). */
  keysFor(provider: ProviderConfig, kid: string | undefined): Promise<KeyLookup>;
}

export interface CheckOptions {
  /** Seconds since the epoch. */
  readonly now: number;
  /** Leeway for exp, nbf and iat. AWS's is not documented; kube-apiserver's is 60 s. */
  readonly clockSkewSeconds?: number;
  /**
   * Oldest `iat` accepted. Real STS refuses old tokens ("Token too old") with an undocumented
   * limit; EKS caps IRSA tokens at 24 h, so that is our default.
   */
  readonly maxTokenAgeSeconds?: number;
  /**
   * Any audience, even none, passes the audience check, so that the key, signature and lifetime
   * checks after it run (doctor's check of a cluster's token against the published keys alone;
   * which audiences IAM accepts is a check of its own).
   */
  readonly anyAudience?: boolean;
}

export interface WebIdentityRequest {
  readonly token: string;
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly durationSeconds?: number | undefined;
}

export interface Grant {
  readonly role: RoleConfig;
  readonly provider: ProviderConfig;
  readonly providerArn: string;
  readonly claims: TokenClaims;
  /** The client ID that matched (`Audience` in the answer). */
  readonly audience: string;
  readonly durationSeconds: number;
  readonly decision: PolicyDecision;
}

export interface Verdict {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  /** The first failed check. */
  readonly failed: CheckResult | undefined;
  readonly grant: Grant | undefined;
  /** The trust policy evaluation, when it was reached. */
  readonly decision: PolicyDecision | undefined;
}

class Run {
  readonly checks: CheckResult[] = [];
  failed: CheckResult | undefined;
  pass(name: CheckName, reason: string): void {
    this.checks.push({ name, status: "pass", reason });
  }
  fail(name: CheckName, reason: string, error: StsError): Verdict {
    const r: CheckResult = { name, status: "fail", reason, error };
    this.checks.push(r);
    this.failed = r;
    for (const n of CHECK_NAMES) {
      if (!this.checks.some((c) => c.name === n))
        this.checks.push({ name: n, status: "skip", reason: `not reached: ${name} failed` });
    }
    return { ok: false, checks: this.checks, failed: r, grant: undefined, decision: undefined };
  }
}

const invalid = (message: string): StsError => stsError("InvalidIdentityToken", message);

/** The condition keys of a web identity request, as IAM names them. */
export function conditionContext(
  p: ProviderConfig,
  claims: TokenClaims,
  audience: string,
  session: string,
): Map<string, string[]> {
  const ctx = new Map<string, string[]>([
    [`${p.hostPath}:sub`, [claims.sub]],
    // Which value `<provider>:aud` carries for a generic OIDC provider when `aud` is a list is not
    // documented; we put in the client ID that matched, so that StringEquals on it works as on EKS.
    [`${p.hostPath}:aud`, [audience]],
    ["sts:RoleSessionName", [session]],
  ]);
  if (claims.azp !== undefined) ctx.set(`${p.hostPath}:azp`, [claims.azp]);
  if (claims.amr !== undefined) ctx.set(`${p.hostPath}:amr`, [...claims.amr]);
  return ctx;
}

/** Runs every check; never throws (a resolver that rejects counts as keys that cannot be retrieved). */
export async function checkWebIdentity(
  req: WebIdentityRequest,
  config: StsConfig,
  resolver: KeyResolver,
  opts: CheckOptions,
): Promise<Verdict> {
  const run = new Run();
  const skew = opts.clockSkewSeconds ?? 60;
  const now = Math.floor(opts.now);

  const parsed = parseToken(req.token);
  if (!parsed.ok) return run.fail("token-format", parsed.reason, invalid(MESSAGES.notJwt));
  const { header, claims: raw, signingInput, signature } = parsed.token;
  run.pass("token-format", "three base64url parts with a JSON header and payload");

  const alg = header.alg;
  if (typeof alg !== "string" || !(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
    const shown = typeof alg === "string" ? alg : JSON.stringify(alg ?? null);
    return run.fail(
      "algorithm",
      `alg ${shown} is not one STS accepts (${SUPPORTED_ALGORITHMS.join(", ")})`,
      invalid(MESSAGES.unsupportedAlg(shown)),
    );
  }
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string")
    return run.fail(
      "algorithm",
      "the header's kid is not a string",
      invalid(MESSAGES.claimType("kid", "a string")),
    );
  run.pass("algorithm", `alg ${alg}`);

  const c = readClaims(raw);
  if (!c.ok) {
    const msg = c.missing ? MESSAGES.missingClaim(c.claim) : MESSAGES.claimType(c.claim, c.want);
    return run.fail("claims", `${c.claim} ${c.missing ? "is missing" : `is not ${c.want}`}`, invalid(msg));
  }
  const claims = c.claims;
  run.pass("claims", "iss, sub, exp present with the right types");

  const provider = config.providers.find((p) => p.issuer === claims.iss);
  if (provider === undefined) {
    const near = config.providers.find(
      (p) => p.issuer.replace(/\/+$/, "") === claims.iss.replace(/\/+$/, ""),
    );
    const why =
      near === undefined
        ? "no provider has this URL"
        : `provider ${near.issuer} differs only in a trailing slash, and STS compares the issuer as a string`;
    return run.fail(
      "issuer",
      `iss ${JSON.stringify(claims.iss)}: ${why}`,
      invalid(MESSAGES.noProvider(claims.iss)),
    );
  }
  run.pass("issuer", `iss matches provider ${provider.issuer}`);

  let audience = claims.aud?.find((a) => provider.clientIds.includes(a));
  if (audience === undefined && claims.azp !== undefined && provider.clientIds.includes(claims.azp))
    audience = claims.azp;
  if (audience === undefined && opts.anyAudience === true) audience = "";
  if (audience === undefined) {
    if (claims.aud === undefined || claims.aud.length === 0) {
      return run.fail("audience", "the token has no aud claim", invalid(MESSAGES.missingClaim("aud")));
    }
    return run.fail(
      "audience",
      `aud ${JSON.stringify(claims.aud)}${claims.azp === undefined ? "" : ` and azp "${claims.azp}"`} not among the provider's client IDs ${JSON.stringify(provider.clientIds)}`,
      invalid(MESSAGES.incorrectAudience),
    );
  }
  run.pass(
    "audience",
    opts.anyAudience === true ? "any audience" : `"${audience}" is a client ID of the provider`,
  );

  let lookup: KeyLookup;
  try {
    lookup = await resolver.keysFor(provider, kid);
  } catch (e) {
    lookup = { ok: false, reason: (e as Error).message };
  }
  if (!lookup.ok) return run.fail("keys", lookup.reason, invalid(MESSAGES.noKey));
  const tokenAlg = alg as TokenAlgorithm;
  const candidates = lookup.keys.filter((k) => kid === undefined || k.kid === kid);
  if (candidates.length === 0) {
    return run.fail(
      "keys",
      `no key with kid ${JSON.stringify(kid)} in the provider's JWKS (${lookup.keys.length} keys)`,
      invalid(MESSAGES.noKey),
    );
  }
  run.pass("keys", kid === undefined ? `no kid: trying all ${candidates.length} keys` : `kid ${kid} found`);

  if (!candidates.some((k) => verifySignature(tokenAlg, k, signingInput, signature))) {
    const fits = candidates.some((k) => k.kty === (tokenAlg.startsWith("RS") ? "RSA" : "EC"));
    return run.fail(
      "signature",
      fits ? `the ${alg} signature does not verify with the key` : `the key is not a key for ${alg}`,
      invalid(MESSAGES.badSignature),
    );
  }
  run.pass("signature", `${alg} signature verifies`);

  if (claims.exp + skew <= now) {
    return run.fail(
      "expiry",
      `expired at ${claims.exp}, ${now - claims.exp} s ago`,
      stsError("ExpiredTokenException", MESSAGES.expired(now, claims.exp)),
    );
  }
  run.pass("expiry", `expires in ${claims.exp - now} s`);
  if (claims.nbf !== undefined && claims.nbf > now + skew) {
    return run.fail(
      "not-before",
      `not valid before ${claims.nbf}, in ${claims.nbf - now} s`,
      invalid(MESSAGES.notYetValid(now, claims.nbf)),
    );
  }
  run.pass("not-before", claims.nbf === undefined ? "no nbf" : `valid since ${claims.nbf}`);
  if (claims.iat !== undefined) {
    if (claims.iat > now + skew)
      return run.fail(
        "issued-at",
        `issued ${claims.iat - now} s in the future`,
        invalid(MESSAGES.issuedInFuture(now, claims.iat)),
      );
    const maxAge = opts.maxTokenAgeSeconds ?? 86_400;
    if (now - claims.iat > maxAge + skew) {
      return run.fail(
        "issued-at",
        `issued ${now - claims.iat} s ago, more than ${maxAge} s`,
        stsError("ExpiredTokenException", MESSAGES.tooOld(now - claims.iat)),
      );
    }
  }
  run.pass("issued-at", claims.iat === undefined ? "no iat" : `issued ${now - claims.iat} s ago`);

  const role = config.roles.find((r) => r.arn.text === req.roleArn);
  // Real STS cannot tell a caller whether a role exists: a missing role is AccessDenied too.
  if (role?.trustPolicy === undefined)
    return run.fail(
      "role",
      `no role ${req.roleArn} in the config`,
      stsError("AccessDenied", MESSAGES.accessDenied),
    );
  run.pass("role", `role ${role.arn.text}`);

  const pArn = providerArn(role.arn.partition, role.arn.account, provider.hostPath);
  const decision = evaluateTrustPolicy(role.trustPolicy, {
    principalType: "Federated",
    principalId: pArn,
    action: "sts:AssumeRoleWithWebIdentity",
    context: conditionContext(provider, claims, audience, req.roleSessionName),
  });
  if (!decision.allowed) {
    const v = run.fail("trust-policy", decision.reason, stsError("AccessDenied", MESSAGES.accessDenied));
    return { ...v, decision };
  }
  run.pass("trust-policy", decision.reason);

  const durationSeconds = req.durationSeconds ?? DEFAULT_DURATION;
  if (durationSeconds > role.maxSessionDuration) {
    const v = run.fail(
      "duration",
      `DurationSeconds ${durationSeconds} exceeds the role's maximum ${role.maxSessionDuration}`,
      stsError("ValidationError", MESSAGES.durationTooLong),
    );
    return { ...v, decision };
  }
  run.pass("duration", `${durationSeconds} s (the role allows up to ${role.maxSessionDuration} s)`);

  return {
    ok: true,
    checks: run.checks,
    failed: undefined,
    decision,
    grant: { role, provider, providerArn: pArn, claims, audience, durationSeconds, decision },
  };
}
