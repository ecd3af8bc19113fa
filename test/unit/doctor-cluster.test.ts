/**
 * Doctor's cluster group and the chain that runs every check: the TokenRequest token as STS checks
 * it, the time the facts were gathered at, and what the STS evaluations read from the facts. The
 * token, keys and trust policy are real (signed with jose, verified by the STS's own checks); no
 * peer runs here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diagnose } from "../../src/core/doctor/diagnose.js";
import { failed, gathered, type DoctorFacts } from "../../src/core/doctor/facts.js";
import type { Report } from "../../src/core/doctor/report.js";
import { doc, healthyFacts, outcome } from "../support/doctor.js";
import { checkWebIdentity } from "../../src/core/sts/check.js";
import {
  AUD,
  HOST_PATH,
  ISSUER,
  ROLE_ARN,
  SUB,
  TRUST_POLICY,
  jwksOf,
  nowSeconds,
  signToken,
  signingKey,
  staticResolver,
  stsConfig,
} from "../support/sts.js";

const NOW = nowSeconds();
const key = await signingKey("RS256", "kid-1");
/** Another key published under the same kid: what it signs does not verify with `key`. */
const impostor = await signingKey("RS256", "kid-1");

/** A healthy chain up to IAM (no webhook, no exchange), gathered at `now` with `token`. */
function facts(token: string, now = NOW): DoctorFacts {
  return {
    ...healthyFacts(key, token, now),
    webhook: undefined,
    exchange: undefined,
    skipped: { webhook: "--no-webhook", exchange: "no --sts-endpoint" },
  };
}

function withPolicy(f: DoctorFacts, trustPolicy: unknown): DoctorFacts {
  const iam = f.iam as NonNullable<DoctorFacts["iam"]>;
  return { ...f, iam: { ...iam, role: gathered({ arn: ROLE_ARN, trustPolicy, maxSessionDuration: 3600 }) } };
}

/** A finding's verdict and words, without its id, group and title. */

const TOKEN_FIX =
  "publish the keys the cluster signs with (irsa issuer sync --from kube), and check kube-apiserver's clock";
const tokenPasses = (aud: string) => ({
  status: "pass",
  detail: `RS256 token for ${SUB}, aud ${aud}: signature, expiry and issued-at pass STS's checks with the published keys`,
});

describe("doctor: cluster-token checks a token without aud as it checks any other", () => {
  it("an expired token without aud fails STS's expiry check", async () => {
    const token = await signToken(key, { aud: undefined, exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 });
    assert.deepEqual(outcome(await diagnose(facts(token)), "cluster-token"), {
      status: "fail",
      detail: `STS's expiry check refuses the token: expired at ${NOW - 3600}, 3600 s ago (ExpiredTokenException: Token expired: current date/time ${NOW} must be before the expiration date/time${NOW - 3600})`,
      fix: TOKEN_FIX,
    });
  });

  it("a token without aud that another key signed fails STS's signature check", async () => {
    const token = await signToken(impostor, { aud: undefined });
    assert.deepEqual(outcome(await diagnose(facts(token)), "cluster-token"), {
      status: "fail",
      detail:
        "STS's signature check refuses the token: the RS256 signature does not verify with the key (InvalidIdentityToken: Token signature verification failed)",
      fix: TOKEN_FIX,
    });
  });

  it("a token with an empty aud list that verifies passes", async () => {
    const token = await signToken(key, { aud: [] });
    assert.deepEqual(outcome(await diagnose(facts(token)), "cluster-token"), tokenPasses("[]"));
  });
});

describe("doctor: STS's checks for any audience", () => {
  const resolver = staticResolver(jwksOf(key));
  const request = (token: string) => ({ token, roleArn: ROLE_ARN, roleSessionName: "s" });

  it("pass a token whose aud no client ID names, or that has none, on to the key and lifetime checks", async () => {
    for (const aud of [undefined, [], ["other"]]) {
      const token = await signToken(key, { aud, exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 });
      const v = await checkWebIdentity(request(token), stsConfig(), resolver, {
        now: NOW,
        anyAudience: true,
      });
      assert.deepEqual(
        v.checks.slice(0, 7).map((c) => `${c.name} ${c.status} ${c.reason}`),
        [
          "token-format pass three base64url parts with a JSON header and payload",
          "algorithm pass alg RS256",
          "claims pass iss, sub, exp present with the right types",
          `issuer pass iss matches provider ${ISSUER}`,
          "audience pass any audience",
          "keys pass kid kid-1 found",
          "signature pass RS256 signature verifies",
        ],
        JSON.stringify(aud),
      );
      assert.equal(v.failed?.name, "expiry");
    }
  });

  it("still refuse such a token without the option", async () => {
    const token = await signToken(key, { aud: undefined });
    const v = await checkWebIdentity(request(token), stsConfig(), resolver, { now: NOW });
    assert.deepEqual(v.failed, {
      name: "audience",
      status: "fail",
      reason: "the token has no aud claim",
      error: {
        code: "InvalidIdentityToken",
        message: "Missing a required claim: aud",
        status: 400,
        type: "Sender",
      },
    });
  });

  it("name the matching client ID as the audience in the trust policy's context", async () => {
    const token = await signToken(key);
    const v = await checkWebIdentity(request(token), stsConfig(), resolver, { now: NOW, anyAudience: true });
    assert.equal(v.ok, true, JSON.stringify(v.failed));
    assert.equal(v.grant?.audience, AUD);
    assert.equal(v.checks.find((c) => c.name === "audience")?.reason, "any audience");
  });
});

const then = NOW - 30 * 86_400;
const old = await signToken(key, { iat: then, nbf: then, exp: then + 3600 });

describe("doctor: the token is judged at the time the facts were gathered", () => {
  it("a token valid then passes cluster-token and the trust policy, though it has expired since", async () => {
    const r = await diagnose(facts(old, then));
    assert.deepEqual(outcome(r, "cluster-token"), tokenPasses(`["${AUD}"]`));
    assert.equal(outcome(r, "iam-trust-policy").status, "pass");
  });

  it("a token valid now fails cluster-token when the facts were gathered before it was valid", async () => {
    const fresh = await signToken(key, { iat: NOW, nbf: NOW, exp: NOW + 3600 });
    const r = await diagnose(facts(fresh, then));
    const refusal = `not valid before ${NOW}, in ${NOW - then} s (InvalidIdentityToken: Token not yet valid: current date/time ${then} must be after the not-before date/time ${NOW})`;
    assert.deepEqual(outcome(r, "cluster-token"), {
      status: "fail",
      detail: `STS's not-before check refuses the token: ${refusal}`,
      fix: TOKEN_FIX,
    });
  });
});

describe("doctor: the trust policy is evaluated as STS evaluates doctor's request", () => {
  const session = (name: string) => ({
    ...TRUST_POLICY,
    Statement: [
      {
        ...TRUST_POLICY.Statement[0],
        Condition: {
          StringEquals: { [`${HOST_PATH}:sub`]: SUB, [`${HOST_PATH}:aud`]: AUD, "sts:RoleSessionName": name },
        },
      },
    ],
  });

  it("the session is named irsa-doctor (sts:RoleSessionName)", async () => {
    const token = await signToken(key);
    const allowed = await diagnose(withPolicy(facts(token), session("irsa-doctor")));
    assert.equal(outcome(allowed, "iam-trust-policy").status, "pass");
    const denied = await diagnose(withPolicy(facts(token), session("other")));
    const why =
      'Statement[0] (Sid "AllowApp") does not apply: condition StringEquals: sts:RoleSessionName is "irsa-doctor": StringEquals "other" does not match';
    assert.deepEqual(outcome(denied, "iam-trust-policy"), {
      status: "fail",
      detail: `STS would deny ${SUB} (AccessDenied): no statement allows: ${why}`,
      fix: `irsa iam trust-policy --issuer ${ISSUER} --service-account team-a/app --audience ${AUD} --account-id 111122223333 > trust.json && aws iam update-assume-role-policy --role-name app --policy-document file://trust.json`,
      notes: [why.replace(") does not apply", ") (Allow): does not apply")],
    });
  });
});

describe("doctor: the chain names failures through skipped prerequisites", () => {
  it("a check names the failure that skipped one prerequisite beside another that failed itself, in the order it needs them", async () => {
    const f = facts(await signToken(key));
    const iam = f.iam as NonNullable<DoctorFacts["iam"]>;
    const cluster = f.cluster as NonNullable<DoctorFacts["cluster"]>;
    const r = await diagnose({
      ...f,
      iam: { ...iam, provider: failed("AccessDenied") },
      cluster: {
        ...cluster,
        discovery: gathered(JSON.stringify({ issuer: "https://kubernetes.default.svc" })),
      },
    });
    assert.deepEqual(outcome(r, "iam-audience"), {
      status: "skip",
      detail: "not checked: iam-provider failed",
    });
    assert.deepEqual(outcome(r, "iam-trust-policy"), {
      status: "skip",
      detail: "not checked: iam-provider, cluster-issuer failed",
    });
  });
});

const kid2 = await signingKey("RS256", "kid-2");
const kid3 = await signingKey("RS256", "kid-3");
const kid4 = await signingKey("RS256", "kid-4");
const KEYS_FIX =
  "publish the cluster's current keys: irsa issuer sync --from kube (it keeps rotated keys for --retain), or irsa jwks --key sa.pub --key old-sa.pub";

/** Facts whose published JWKS and API server JWKS hold these keys. */
async function keySets(published: string, cluster: string, token: string | undefined): Promise<Report> {
  const f = facts(await signToken(key));
  const c = f.cluster as NonNullable<DoctorFacts["cluster"]>;
  return diagnose({
    ...f,
    jwks: doc(published),
    cluster: {
      ...c,
      jwks: gathered(cluster),
      token: token === undefined ? undefined : gathered(token),
      review: token === undefined ? undefined : c.review,
    },
  });
}

describe("doctor: cluster-keys names every key", () => {
  it("the signing key published beside keys the cluster accepts but nobody publishes: a warning that lists them all", async () => {
    const r = await keySets(jwksOf(key, kid3), jwksOf(key, kid2, kid4), await signToken(key));
    assert.deepEqual(outcome(r, "cluster-keys"), {
      status: "warn",
      detail:
        "kid kid-1 is published, but the cluster still accepts keys that are not: kid-2, kid-4 (tokens they signed fail at STS)",
      fix: KEYS_FIX,
      notes: ["published: kid-1, kid-3", "cluster:   kid-1, kid-2, kid-4"],
    });
  });

  it("without a token, every key the cluster accepts that is not published fails, each named", async () => {
    const r = await keySets(jwksOf(key), jwksOf(key, kid2, kid4), undefined);
    assert.deepEqual(outcome(r, "cluster-keys"), {
      status: "fail",
      detail: "keys of the cluster missing from the published JWKS: kid-2, kid-4",
      fix: KEYS_FIX,
      notes: ["published: kid-1", "cluster:   kid-1, kid-2, kid-4"],
    });
  });
});

describe("doctor: what the cluster group's checks wait for", () => {
  it("the token is not checked when the account failed", async () => {
    const r = await diagnose({ ...facts(await signToken(key)), roleArn: undefined });
    assert.deepEqual(outcome(r, "cluster-token"), {
      status: "skip",
      detail: "not checked: service-account failed",
    });
  });

  it("the API server's audiences are not checked when the token failed", async () => {
    const expired = await signToken(key, { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 });
    const f = facts(expired);
    const c = f.cluster as NonNullable<DoctorFacts["cluster"]>;
    const r = await diagnose({
      ...f,
      cluster: { ...c, review: gathered({ authenticated: false, error: "token has expired" }) },
    });
    assert.equal(outcome(r, "cluster-token").status, "fail");
    assert.deepEqual(outcome(r, "cluster-audiences"), {
      status: "skip",
      detail: "not checked: cluster-token failed",
    });
  });
});
