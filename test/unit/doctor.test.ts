/**
 * Doctor's pure checks, one table row per broken link: facts in, findings out. The token, keys and
 * trust policy are real (signed with jose, verified by the STS's own checks); no peer runs here
 * (test/e2e/doctor.test.ts breaks the same links on real ones).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fail, mismatch, onlySlashDiffers, pass, skip, warn } from "../../src/core/doctor/check.js";
import { diagnose } from "../../src/core/doctor/diagnose.js";
import { gathered, failed, type DoctorFacts, type Fetch } from "../../src/core/doctor/facts.js";
import {
  formatJson,
  formatText,
  report,
  REPORT_SCHEMA,
  type Finding,
  type Report,
} from "../../src/core/doctor/report.js";
import { parseTrustPolicy } from "../../src/core/trust-policy/policy.js";
import { validate } from "../support/json-schema.js";
import { doc, healthyFacts, HOOK, outcome } from "../support/doctor.js";
import { literal } from "../support/regexp.js";
import {
  AUD,
  ISSUER,
  PROVIDER_ARN,
  ROLE_ARN,
  TRUST_POLICY,
  jwksOf,
  nowSeconds,
  signToken,
  signingKey,
  type SigningKey,
} from "../support/sts.js";

const NOW = nowSeconds();
const key = await signingKey("RS256", "kid-1");
const other = await signingKey("RS256", "kid-2");
const TOKEN = await signToken(key);

/** The document of a fetch that succeeded. */
function okValue(f: Fetch) {
  assert.ok(f.ok);
  return f.value;
}

const discoveryBody = (issuer = ISSUER) => JSON.stringify({ issuer, jwks_uri: `${ISSUER}/openid/v1/jwks` });

function healthy(): DoctorFacts {
  return healthyFacts(key, TOKEN, NOW);
}

type Edit = (f: DoctorFacts) => DoctorFacts;
const cluster = (f: DoctorFacts, c: Partial<NonNullable<DoctorFacts["cluster"]>>): DoctorFacts => ({
  ...f,
  cluster: { ...(f.cluster as NonNullable<DoctorFacts["cluster"]>), ...c },
});
const webhook = (f: DoctorFacts, w: Partial<NonNullable<DoctorFacts["webhook"]>>): DoctorFacts => ({
  ...f,
  webhook: { ...(f.webhook as NonNullable<DoctorFacts["webhook"]>), ...w },
});
const iam = (f: DoctorFacts, i: Partial<NonNullable<DoctorFacts["iam"]>>): DoctorFacts => ({
  ...f,
  iam: { ...(f.iam as NonNullable<DoctorFacts["iam"]>), ...i },
});
const policyFor = (sub: string) => ({
  ...TRUST_POLICY,
  Statement: [
    {
      ...TRUST_POLICY.Statement[0],
      Condition: {
        StringEquals: { "oidc.example.com/cluster-1:sub": sub, "oidc.example.com/cluster-1:aud": AUD },
      },
    },
  ],
});
const signed = async (k: SigningKey, claims: Record<string, unknown>) => signToken(k, claims);
const expiredToken = await signed(key, { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 });

const fails = (r: Report) => r.findings.filter((x) => x.status === "fail").map((x) => x.id);
const get = (r: Report, id: string) => r.findings.find((x) => x.id === id);
/** `id` is the one finding with `status` (the message lists every finding that did not pass). */
function only(r: Report, status: "fail" | "warn", id: string): void {
  const ids = r.findings.filter((x) => x.status === status).map((x) => x.id);
  assert.deepEqual(
    ids,
    [id],
    JSON.stringify(
      r.findings.filter((x) => x.status !== "pass"),
      null,
      2,
    ),
  );
}

describe("doctor: a healthy chain", () => {
  it("passes every check, in chain order, and the report follows the schema", async () => {
    const r = await diagnose(healthy());
    assert.deepEqual(
      r.findings.filter((x) => x.status !== "pass").map((x) => `${x.id} ${x.status} ${x.detail}`),
      [],
    );
    assert.deepEqual(
      r.findings.map((x) => x.group).filter((g, i, a) => a.indexOf(g) === i),
      ["issuer", "cluster", "webhook", "iam", "exchange"],
    );
    assert.equal(r.ok, true);
    assert.deepEqual(validate(REPORT_SCHEMA, JSON.parse(formatJson(r))), []);
    assert.match(get(r, "iam-trust-policy")?.detail ?? "", /Sid "AllowApp"/);
  });
});

// [what breaks, the facts, the only check that fails, its detail, its fix]
const BREAKS: [string, Edit, string, RegExp, RegExp][] = [
  [
    "an issuer that is not https",
    (f) => ({ ...f, issuer: "http://oidc.example.com/cluster-1" }),
    "issuer-url",
    /https scheme/,
    /use https:\/\/oidc\.example\.com\/cluster-1/,
  ],
  [
    "discovery behind a private CA without --ca-file",
    (f) => ({ ...f, discovery: { ok: false, error: { kind: "tls", message: "SELF_SIGNED_CERT_IN_CHAIN" } } }),
    "discovery",
    /not trusted/,
    /public CA.*--ca-file/,
  ],
  [
    "discovery that needs credentials",
    (f) => ({ ...f, discovery: { ok: false, error: { kind: "http", message: "HTTP 403", status: 403 } } }),
    "discovery",
    /403/,
    /system:unauthenticated/,
  ],
  [
    "discovery naming the issuer with a trailing slash",
    (f) => ({ ...f, discovery: doc(discoveryBody(`${ISSUER}/`)) }),
    "discovery-issuer",
    /differ only in a trailing slash/,
    /republish/,
  ],
  [
    "a jwks_uri over http",
    (f) => ({
      ...f,
      discovery: doc(JSON.stringify({ issuer: ISSUER, jwks_uri: "http://oidc.example.com/jwks" })),
    }),
    "jwks",
    /https/,
    /jwks-uri/,
  ],
  [
    "a JWKS with no usable key",
    (f) => ({ ...f, jwks: doc(JSON.stringify({ keys: [{ kty: "oct", k: "x" }] })) }),
    "jwks-keys",
    /no key STS can use/,
    /irsa jwks/,
  ],
  [
    "the API server on another issuer",
    (f) => cluster(f, { discovery: gathered(discoveryBody("https://kubernetes.default.svc")) }),
    "cluster-issuer",
    /is not/,
    /--service-account-issuer=https:\/\/oidc\.example\.com\/cluster-1/,
  ],
  [
    "a signing key missing after a rotation",
    (f) => ({ ...f, jwks: doc(jwksOf(other)) }),
    "cluster-keys",
    /kid-1\) is not in the published JWKS/,
    /irsa issuer sync --from kube/,
  ],
  [
    "an expired token (the API server's clock)",
    (f) => cluster(f, { token: gathered(expiredToken) }),
    "cluster-token",
    /expiry/,
    /clock/,
  ],
  [
    "a missing ServiceAccount",
    (f) =>
      cluster(f, {
        serviceAccount: gathered({ namespace: "team-a", name: "app", annotations: undefined }),
        token: undefined,
      }),
    "service-account",
    /does not exist/,
    /kubectl create serviceaccount -n team-a app/,
  ],
  [
    "an account without a role",
    (f) => ({ ...f, roleArn: undefined }),
    "service-account",
    /no eks\.amazonaws\.com\/role-arn/,
    /kubectl annotate serviceaccount/,
  ],
  [
    "no webhook configuration",
    (f) => webhook(f, { webhooks: gathered(undefined) }),
    "webhook-config",
    /no MutatingWebhookConfiguration/,
    /deploy\/webhook/,
  ],
  [
    "a wrong caBundle",
    (f) =>
      webhook(f, {
        serving: gathered({
          verified: false,
          verifyError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
          subject: "CN=webhook",
          notBefore: NOW - 60,
          notAfter: NOW + 86_400 * 30,
        }),
      }),
    "webhook-tls",
    /caBundle does not verify/,
    /caBundle/,
  ],
  [
    "an expired serving certificate",
    (f) =>
      webhook(f, {
        serving: gathered({
          verified: false,
          verifyError: "CERT_HAS_EXPIRED",
          subject: "CN=webhook",
          notBefore: NOW - 86_400 * 3,
          notAfter: NOW - 86_400,
        }),
      }),
    "webhook-tls",
    /expired at .*1 days ago/,
    /renew/,
  ],
  [
    "a pod that comes back without credentials",
    (f) => webhook(f, { dryRun: gathered({ containers: [{ name: "app", env: {} }], volumes: [] }) }),
    "webhook-dry-run",
    /AWS_ROLE_ARN missing.*aws-iam-token missing/,
    /objectSelector/,
  ],
  [
    "a provider with a trailing slash",
    (f) => iam(f, { provider: gathered(undefined), nearProviderArn: `${PROVIDER_ARN}/` }),
    "iam-provider",
    /differs only in a trailing slash/,
    /create-open-id-connect-provider --url https:\/\/oidc\.example\.com\/cluster-1 --client-id-list sts\.amazonaws\.com/,
  ],
  [
    "an audience missing on the provider",
    (f) => iam(f, { provider: gathered({ clientIds: ["other"], thumbprints: [] }) }),
    "iam-audience",
    /lack sts\.amazonaws\.com/,
    /add-client-id-to-open-id-connect-provider/,
  ],
  [
    "a private CA without the thumbprint on the provider",
    (f) => ({ ...f, caFile: "/ca.pem", jwks: doc(jwksOf(key), { trust: "ca-file" }) }),
    "iam-thumbprint",
    /abab/,
    /update-open-id-connect-provider-thumbprint .* --thumbprint-list abab/,
  ],
  [
    "a missing role",
    (f) => iam(f, { role: gathered(undefined) }),
    "iam-role",
    /no role/,
    /aws iam create-role --role-name app/,
  ],
  [
    "a trust policy for another namespace",
    (f) =>
      iam(f, {
        role: gathered({
          arn: ROLE_ARN,
          trustPolicy: policyFor("system:serviceaccount:team-b:app"),
          maxSessionDuration: 3600,
        }),
      }),
    "iam-trust-policy",
    /AccessDenied/,
    /update-assume-role-policy --role-name app/,
  ],
  [
    "a trust policy STS cannot parse",
    (f) =>
      iam(f, {
        role: gathered({ arn: ROLE_ARN, trustPolicy: { Statement: "x" }, maxSessionDuration: 3600 }),
      }),
    "iam-trust-policy",
    /not one STS can evaluate/,
    /irsa iam trust-policy/,
  ],
  [
    "an STS that refuses what every check admits",
    (f) => ({
      ...f,
      exchange: { endpoint: "http://sts", assumed: failed("AccessDenied"), caller: undefined },
    }),
    "sts-exchange",
    /refused/,
    /irsa sts check/,
  ],
];

describe("doctor: one broken link is one failure, with its fix", () => {
  for (const [what, edit, id, detail, fix] of BREAKS) {
    it(what, async () => {
      const r = await diagnose(edit(healthy()));
      only(r, "fail", id);
      assert.match(get(r, id)?.detail ?? "", detail);
      assert.match(get(r, id)?.fix ?? "", fix);
      assert.equal(r.ok, false);
      assert.deepEqual(validate(REPORT_SCHEMA, JSON.parse(formatJson(r))), []);
    });
  }

  it("names the failed prerequisite in what it skips, and skips the exchange after any failure", async () => {
    const r = await diagnose({ ...healthy(), issuer: "http://oidc.example.com/cluster-1" });
    assert.equal(get(r, "discovery")?.detail, "not checked: issuer-url failed");
    assert.equal(get(r, "sts-exchange")?.detail, "not checked: issuer-url failed");
    assert.equal(get(r, "webhook-dry-run")?.status, "pass");
  });

  it("names the statement of a trust policy that does not apply", async () => {
    const r = await diagnose(
      iam(healthy(), {
        role: gathered({
          arn: ROLE_ARN,
          trustPolicy: policyFor("system:serviceaccount:team-b:app"),
          maxSessionDuration: 3600,
        }),
      }),
    );
    assert.match(
      (get(r, "iam-trust-policy")?.notes ?? []).join("\n"),
      /Statement\[0\] \(Sid "AllowApp"\) \(Allow\): does not apply/,
    );
  });
});

const STS_FILE = "/etc/irsa/sts.yaml";
/** IAM as the local STS's config has it (--sts-config): the same provider and role, no thumbprints. */
const fromStsConfig: Edit = (f) =>
  iam(f, {
    source: `the STS config ${STS_FILE}`,
    stsConfigFile: STS_FILE,
    provider: gathered({ clientIds: [AUD], thumbprints: undefined }),
    role: gathered({
      arn: ROLE_ARN,
      trustPolicy: undefined,
      parsedTrustPolicy: parseTrustPolicy(TRUST_POLICY),
      maxSessionDuration: 3600,
    }),
  });
const otherNamespace = parseTrustPolicy(policyFor("system:serviceaccount:team-b:app"));
const POLICY_COMMAND = literal(
  `irsa iam trust-policy --issuer ${ISSUER} --service-account team-a/app --audience ${AUD} --account-id 111122223333`,
);

// [what is off, the facts (on either source), the check that fails, its fix from AWS, from the STS config]
const IAM_FIXES: [string, Edit, string, RegExp, RegExp][] = [
  [
    "a provider that cannot be read",
    (f) => iam(f, { provider: failed("AccessDenied") }),
    "iam-provider",
    /^give the caller iam:GetOpenIDConnectProvider$/,
    new RegExp(`^make the STS config ${literal(STS_FILE)} load: fix what the error names$`),
  ],
  [
    "a provider with a trailing slash",
    (f) => iam(f, { provider: gathered(undefined), nearProviderArn: `${PROVIDER_ARN}/` }),
    "iam-provider",
    new RegExp(
      `^aws iam create-open-id-connect-provider --url ${literal(ISSUER)} --client-id-list ${AUD} \\(and delete the other one\\)$`,
    ),
    new RegExp(
      `^add the provider ${literal(`{"url": "${ISSUER}", "clientIds": ["${AUD}"]}`)} to the providers of the STS config ${literal(STS_FILE)} \\(and remove the other one\\); irsa sts serve reloads it$`,
    ),
  ],
  [
    "a missing provider, with no other one like it",
    (f) => iam(f, { provider: gathered(undefined) }),
    "iam-provider",
    new RegExp(`^aws iam create-open-id-connect-provider --url ${literal(ISSUER)} --client-id-list ${AUD}$`),
    new RegExp(
      `^add the provider ${literal(`{"url": "${ISSUER}", "clientIds": ["${AUD}"]}`)} to the providers of the STS config ${literal(STS_FILE)}; irsa sts serve reloads it$`,
    ),
  ],
  [
    "an audience missing on the provider",
    (f) => iam(f, { provider: gathered({ clientIds: ["other"], thumbprints: undefined }) }),
    "iam-audience",
    new RegExp(
      `^aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${literal(PROVIDER_ARN)} --client-id ${AUD}$`,
    ),
    new RegExp(
      `^add "${AUD}" to the clientIds of the provider ${literal(ISSUER)} in the STS config ${literal(STS_FILE)}; irsa sts serve reloads it$`,
    ),
  ],
  [
    "a role that cannot be read",
    (f) => iam(f, { role: failed("AccessDenied") }),
    "iam-role",
    /^give the caller iam:GetRole$/,
    new RegExp(`^make the STS config ${literal(STS_FILE)} load: fix what the error names$`),
  ],
  [
    "a missing role",
    (f) => iam(f, { role: gathered(undefined) }),
    "iam-role",
    new RegExp(
      `^${POLICY_COMMAND} > trust\\.json && aws iam create-role --role-name app --assume-role-policy-document file://trust\\.json$`,
    ),
    new RegExp(
      `^${POLICY_COMMAND} > trust\\.json, then add the role ${literal(`{"arn": "${ROLE_ARN}", "trustPolicyFile": "trust.json"}`)} to the roles of the STS config ${literal(STS_FILE)} \\(a relative trustPolicyFile is read from the config's directory\\); irsa sts serve reloads it$`,
    ),
  ],
  [
    "a trust policy for another namespace",
    (f) =>
      iam(f, {
        role: gathered({
          arn: ROLE_ARN,
          trustPolicy: undefined,
          parsedTrustPolicy: otherNamespace,
          maxSessionDuration: 3600,
        }),
      }),
    "iam-trust-policy",
    new RegExp(
      `^${POLICY_COMMAND} > trust\\.json && aws iam update-assume-role-policy --role-name app --policy-document file://trust\\.json$`,
    ),
    new RegExp(
      `^${POLICY_COMMAND}, and put what it prints as the trustPolicy of the role ${literal(ROLE_ARN)} in the STS config ${literal(STS_FILE)}; irsa sts serve reloads it$`,
    ),
  ],
  [
    "a trust policy for another namespace, in its own file",
    (f) =>
      iam(f, {
        role: gathered({
          arn: ROLE_ARN,
          trustPolicy: undefined,
          parsedTrustPolicy: otherNamespace,
          trustPolicyFile: "/etc/irsa/app-trust.json",
          maxSessionDuration: 3600,
        }),
      }),
    "iam-trust-policy",
    /aws iam update-assume-role-policy --role-name app /,
    new RegExp(
      `^${POLICY_COMMAND} > /etc/irsa/app-trust\\.json \\(the trustPolicyFile of the role ${literal(ROLE_ARN)} in the STS config ${literal(STS_FILE)}\\); irsa sts serve reloads it$`,
    ),
  ],
];

describe("doctor: IAM's fixes say where IAM's facts came from", () => {
  const sources: [string, Edit, (row: (typeof IAM_FIXES)[number]) => RegExp][] = [
    ["AWS", (f) => f, (row) => row[3]],
    ["the STS config", fromStsConfig, (row) => row[4]],
  ];
  for (const row of IAM_FIXES) {
    for (const [source, from, expected] of sources) {
      it(`${row[0]}, from ${source}`, async () => {
        const r = await diagnose(row[1](from(healthy())));
        only(r, "fail", row[2]);
        const fix = get(r, row[2])?.fix ?? "";
        assert.match(fix, expected(row));
        if (from === fromStsConfig) assert.doesNotMatch(fix, /\baws /);
      });
    }
  }

  it("a missing role's fix names placeholders for what was not given", async () => {
    const r = await diagnose(iam({ ...healthy(), serviceAccount: undefined }, { role: gathered(undefined) }));
    assert.match(get(r, "iam-role")?.fix ?? "", / --service-account NS\/NAME --audience /);
  });

  it("passes the healthy chain from the STS config", async () => {
    const r = await diagnose(fromStsConfig(healthy()));
    assert.deepEqual(fails(r), []);
    assert.equal(get(r, "iam-trust-policy")?.status, "pass");
  });
});

// [what is off, the facts, the check that warns, its detail]
const WARNINGS: [string, Edit, string, RegExp][] = [
  [
    "a trailing slash in the issuer",
    (f) => ({
      ...f,
      issuer: `${ISSUER}/`,
      discovery: doc(discoveryBody(`${ISSUER}/`)),
      cluster: undefined,
      iam: undefined,
      exchange: undefined,
    }),
    "issuer-url",
    /ends with "\/"/,
  ],
  [
    "discovery served as text/plain",
    (f) => ({ ...f, discovery: doc(discoveryBody(), { contentType: "text/plain" }) }),
    "discovery",
    /text\/plain/,
  ],
  ["a slow JWKS", (f) => ({ ...f, jwks: doc(jwksOf(key), { elapsedMs: 4000 }) }), "jwks", /slow/],
  [
    "a key STS cannot use beside a good one",
    (f) => ({
      ...f,
      jwks: doc(JSON.stringify({ keys: [key.jwk, { kty: "OKP", crv: "Ed25519", x: "x", kid: "ed" }] })),
    }),
    "jwks-keys",
    /OKP/,
  ],
  [
    "an old key the cluster accepts but nobody publishes",
    (f) => cluster(f, { jwks: gathered(jwksOf(key, other)) }),
    "cluster-keys",
    /kid-2/,
  ],
  [
    "--api-audiences without the audience",
    (f) => cluster(f, { review: gathered({ authenticated: false, error: "token audiences are invalid" }) }),
    "cluster-audiences",
    /does not accept/,
  ],
  [
    "a serving certificate with hours left",
    (f) =>
      webhook(f, {
        serving: gathered({
          verified: true,
          verifyError: undefined,
          subject: "CN=webhook",
          notBefore: NOW - 60,
          notAfter: NOW + 3600,
        }),
      }),
    "webhook-tls",
    /less than a day/,
  ],
];

describe("doctor: warnings do not fail the run", () => {
  for (const [what, edit, id, detail] of WARNINGS) {
    it(what, async () => {
      const r = await diagnose(edit(healthy()));
      only(r, "warn", id);
      assert.deepEqual(fails(r), []);
      assert.match(get(r, id)?.detail ?? "", detail);
      assert.equal(r.ok, true);
    });
  }
});

describe("doctor: what was not asked for is skipped with the reason", () => {
  it("with no inputs at all nothing fails and every check says why it was skipped", async () => {
    const r = await diagnose({
      ...healthy(),
      issuer: undefined,
      roleArn: undefined,
      serviceAccount: undefined,
      discovery: undefined,
      jwks: undefined,
      cluster: undefined,
      webhook: undefined,
      iam: undefined,
      exchange: undefined,
      skipped: { cluster: "no --kubeconfig", webhook: "no --kubeconfig", iam: "no AWS credentials" },
    });
    assert.deepEqual(fails(r), []);
    assert.ok(
      r.findings.every((x) => x.status === "skip" && x.detail !== ""),
      JSON.stringify(r.findings),
    );
    assert.equal(get(r, "service-account")?.detail, "no --kubeconfig");
    assert.equal(get(r, "iam-role")?.detail, "no AWS credentials");
    // A check whose prerequisite was skipped gives the prerequisite's reason.
    assert.equal(get(r, "cluster-issuer")?.detail, get(r, "issuer-url")?.detail);
  });

  it("a webhook registered through a Service skips the handshake but not the dry run", async () => {
    const r = await diagnose(webhook(healthy(), { serving: undefined }));
    assert.match(get(r, "webhook-tls")?.detail ?? "", /through a Service/);
    assert.equal(get(r, "webhook-dry-run")?.status, "pass");
  });
});

describe("doctor: the text report", () => {
  it("groups the checks, shows each failure's fix under it, and ends with the counts", async () => {
    const text = formatText(
      await diagnose(iam(healthy(), { provider: gathered({ clientIds: ["other"], thumbprints: [] }) })),
    );
    assert.match(text, /^1 Issuer\n {2}pass {2}issuer-url /);
    assert.match(text, /\n4 IAM\n/);
    assert.match(
      text,
      / {2}fail {2}iam-audience +the provider's client IDs \["other"\] lack sts\.amazonaws\.com.*\n +fix: aws iam add-client-id-to-open-id-connect-provider/,
    );
    assert.match(text, /\nresult: FAILED: \d+ passed, 0 warned, 1 failed, \d+ skipped\n$/);
  });
});

describe("doctor: the README", () => {
  it("documents the JSON schema the reports follow, word for word", async () => {
    const { readFile } = await import("node:fs/promises");
    const { REPO_ROOT } = await import("../support/paths.js");
    const readme = await readFile(`${REPO_ROOT}README.md`, "utf8");
    const section = readme.slice(readme.indexOf("### `--output json`"));
    const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1] ?? "";
    assert.deepEqual(JSON.parse(block), JSON.parse(JSON.stringify(REPORT_SCHEMA)));
  });
});

/** A finding's verdict and words, without its id, group and title. */

type Expected = Pick<Finding, "status" | "detail" | "fix" | "notes">;
// [the rule, the facts, the check, its whole outcome]
type Case = [string, Edit, string, Expected];

function cases(title: string, rows: Case[]): void {
  describe(title, () => {
    for (const [rule, edit, id, expected] of rows) {
      it(rule, async () => {
        assert.deepEqual(outcome(await diagnose(edit(healthy())), id), expected);
      });
    }
  });
}

const DISCOVERY_URL = `${ISSUER}/.well-known/openid-configuration`;
const JWKS_URL = `${ISSUER}/openid/v1/jwks`;
const PUBLISH = `publish the documents at ${ISSUER}: irsa issuer serve, or irsa issuer sync --from kube --public-issuer ${ISSUER} --to s3://BUCKET/PREFIX`;
const ANONYMOUS =
  "AWS STS fetches without credentials: allow anonymous reads (for kube-apiserver as the issuer: kubectl create clusterrolebinding irsa-anonymous-discovery --clusterrole=system:service-account-issuer-discovery --group=system:unauthenticated)";
const SLOW_FIX = "serve the documents from a static host or CDN (S3, irsa issuer serve)";
const PUBLIC = "a publicly trusted certificate";
const THUMB = "ab".repeat(20);
const fetchError = (kind: "tls" | "network" | "http", message: string, status?: number): Fetch => ({
  ok: false,
  error: { kind, message, ...(status === undefined ? {} : { status }) },
});
const JWKS_FIX =
  "republish the JWKS from the cluster's keys: irsa jwks --key sa.pub, or irsa issuer sync --from kube";

cases("doctor: issuer-url's words", [
  [
    "an issuer that was not given is skipped with the reason the facts give",
    (f) => ({ ...f, issuer: undefined, skipped: { issuer: "the API server has no issuer" } }),
    "issuer-url",
    { status: "skip", detail: "the API server has no issuer" },
  ],
  [
    "an issuer that was not given, with no reason, says neither flag was there",
    (f) => ({ ...f, issuer: undefined }),
    "issuer-url",
    { status: "skip", detail: "no --issuer given and no --kubeconfig to read it from" },
  ],
  [
    "an invalid issuer names its source, the URL check's message and its hint",
    (f) => ({ ...f, issuer: "https://oidc.example.com/x?a=1", issuerSource: "the API server" }),
    "issuer-url",
    {
      status: "fail",
      detail:
        'https://oidc.example.com/x?a=1 (the API server): issuer URL "https://oidc.example.com/x?a=1" has a query (?a=1); an OpenID issuer may not',
      fix: 'drop everything from "?" on: https://oidc.example.com/x; set the same URL in kube-apiserver\'s --service-account-issuer and the IAM OIDC provider',
    },
  ],
  [
    "a trailing slash is a warning whose fix drops every trailing slash everywhere",
    (f) => ({ ...f, issuer: `${ISSUER}//` }),
    "issuer-url",
    {
      status: "warn",
      detail: `${ISSUER}// (--issuer): issuer URL "${ISSUER}//" ends with "/": IAM matches the issuer string exactly, so tokens with iss "${ISSUER}//" match only an OIDC provider created with that trailing slash, and "${ISSUER}" is a different issuer`,
      fix: `use ${ISSUER} everywhere (kube-apiserver --service-account-issuer, the documents, the IAM provider), or the slash everywhere`,
    },
  ],
  [
    "a port and a trailing slash are both named, and the slash's fix comes first",
    (f) => ({ ...f, issuer: "https://oidc.example.com:8443/" }),
    "issuer-url",
    {
      status: "warn",
      detail:
        'https://oidc.example.com:8443/ (--issuer): issuer URL "https://oidc.example.com:8443/" ends with "/": IAM matches the issuer string exactly, so tokens with iss "https://oidc.example.com:8443/" match only an OIDC provider created with that trailing slash, and "https://oidc.example.com:8443" is a different issuer; issuer URL "https://oidc.example.com:8443/" has a port (8443): IAM OIDC provider URLs should not contain a port; publish the documents on 443 for AWS STS',
      fix: "use https://oidc.example.com:8443 everywhere (kube-apiserver --service-account-issuer, the documents, the IAM provider), or the slash everywhere",
    },
  ],
  [
    "a port alone is a warning whose fix is port 443",
    (f) => ({ ...f, issuer: "https://oidc.example.com:8443" }),
    "issuer-url",
    {
      status: "warn",
      detail:
        'https://oidc.example.com:8443 (--issuer): issuer URL "https://oidc.example.com:8443" has a port (8443): IAM OIDC provider URLs should not contain a port; publish the documents on 443 for AWS STS',
      fix: "serve the documents on port 443 and drop the port from the issuer",
    },
  ],
  [
    "a valid issuer passes and names its source",
    (f) => ({ ...f, issuerSource: "the API server" }),
    "issuer-url",
    { status: "pass", detail: `${ISSUER} (the API server): https, no port, no query, no trailing slash` },
  ],
]);

cases("doctor: discovery's words", [
  [
    "a discovery document not fetched is skipped with the issuer group's reason",
    (f) => ({ ...f, discovery: undefined, skipped: { issuer: "--no-fetch" } }),
    "discovery",
    { status: "skip", detail: "--no-fetch" },
  ],
  [
    "a discovery document not fetched, with no reason, says so",
    (f) => ({ ...f, discovery: undefined }),
    "discovery",
    { status: "skip", detail: "not fetched" },
  ],
  [
    "an untrusted certificate with --ca-file names the CA file in the fix",
    (f) => ({ ...f, caFile: "/ca.pem", discovery: fetchError("tls", "SELF_SIGNED_CERT_IN_CHAIN") }),
    "discovery",
    {
      status: "fail",
      detail: `GET ${DISCOVERY_URL}: the certificate is not trusted: SELF_SIGNED_CERT_IN_CHAIN`,
      fix: "serve a certificate that chains to a public CA or to the CA in /ca.pem",
    },
  ],
  [
    "an untrusted certificate without --ca-file asks for a public CA or --ca-file and a thumbprint",
    (f) => ({ ...f, discovery: fetchError("tls", "SELF_SIGNED_CERT_IN_CHAIN") }),
    "discovery",
    {
      status: "fail",
      detail: `GET ${DISCOVERY_URL}: the certificate is not trusted: SELF_SIGNED_CERT_IN_CHAIN`,
      fix: "serve a certificate from a public CA (AWS STS trusts those); for a private CA give --ca-file, and put the thumbprint on the IAM provider",
    },
  ],
  [
    "HTTP 401 asks for anonymous reads",
    (f) => ({ ...f, discovery: fetchError("http", "HTTP 401", 401) }),
    "discovery",
    { status: "fail", detail: `GET ${DISCOVERY_URL}: HTTP 401`, fix: ANONYMOUS },
  ],
  [
    "HTTP 403 asks for anonymous reads",
    (f) => ({ ...f, discovery: fetchError("http", "HTTP 403", 403) }),
    "discovery",
    { status: "fail", detail: `GET ${DISCOVERY_URL}: HTTP 403`, fix: ANONYMOUS },
  ],
  [
    "HTTP 404 asks to publish the documents",
    (f) => ({ ...f, discovery: fetchError("http", "HTTP 404", 404) }),
    "discovery",
    { status: "fail", detail: `GET ${DISCOVERY_URL}: HTTP 404`, fix: PUBLISH },
  ],
  [
    "a network error asks to publish the documents",
    (f) => ({ ...f, discovery: fetchError("network", "ECONNREFUSED") }),
    "discovery",
    { status: "fail", detail: `GET ${DISCOVERY_URL}: ECONNREFUSED`, fix: PUBLISH },
  ],
  [
    "the discovery URL takes one trailing slash off the issuer",
    (f) => ({ ...f, issuer: `${ISSUER}/`, discovery: fetchError("network", "ECONNREFUSED") }),
    "discovery",
    {
      status: "fail",
      detail: `GET ${DISCOVERY_URL}: ECONNREFUSED`,
      fix: `publish the documents at ${ISSUER}/: irsa issuer serve, or irsa issuer sync --from kube --public-issuer ${ISSUER}/ --to s3://BUCKET/PREFIX`,
    },
  ],
  [
    "a body that is not JSON is quoted up to 60 characters",
    (f) => ({ ...f, discovery: doc(`<html>${"x".repeat(100)}</html>`) }),
    "discovery",
    { status: "fail", detail: `${DISCOVERY_URL} is not JSON (<html>${"x".repeat(54)})`, fix: PUBLISH },
  ],
  [
    "JSON that is not an object fails",
    (f) => ({ ...f, discovery: doc("[]") }),
    "discovery",
    { status: "fail", detail: `${DISCOVERY_URL} is JSON but not an object`, fix: PUBLISH },
  ],
  [
    "no Content-Type is a warning",
    (f) => ({
      ...f,
      discovery: { ok: true, value: { ...okValue(doc(discoveryBody())), contentType: undefined } },
    }),
    "discovery",
    {
      status: "warn",
      detail: `HTTP 200, no Content-Type, 12 ms, ${PUBLIC}`,
      fix: `serve ${DISCOVERY_URL} with Content-Type: application/json`,
    },
  ],
  [
    "application/json in any case, with parameters, passes; times are rounded to the millisecond",
    (f) => ({
      ...f,
      discovery: doc(discoveryBody(), { contentType: "Application/JSON; charset=utf-8", elapsedMs: 1999.6 }),
    }),
    "discovery",
    { status: "pass", detail: `HTTP 200, Application/JSON; charset=utf-8, 2000 ms, ${PUBLIC}` },
  ],
  [
    "exactly 2000 ms is not slow",
    (f) => ({ ...f, discovery: doc(discoveryBody(), { elapsedMs: 2000 }) }),
    "discovery",
    { status: "pass", detail: `HTTP 200, application/json, 2000 ms, ${PUBLIC}` },
  ],
  [
    "more than 2000 ms is slow",
    (f) => ({ ...f, discovery: doc(discoveryBody(), { elapsedMs: 2000.6 }) }),
    "discovery",
    { status: "warn", detail: `HTTP 200, application/json, 2001 ms, ${PUBLIC}: slow`, fix: SLOW_FIX },
  ],
  [
    "a certificate trusted through --ca-file is named with the file",
    (f) => ({ ...f, caFile: "/ca.pem", discovery: doc(discoveryBody(), { trust: "ca-file" }) }),
    "discovery",
    {
      status: "pass",
      detail:
        "HTTP 200, application/json, 12 ms, a certificate trusted only through --ca-file /ca.pem (AWS STS then relies on the provider's thumbprint)",
    },
  ],
]);

cases("doctor: discovery-issuer's words", [
  [
    "the same issuer passes, byte for byte",
    (f) => f,
    "discovery-issuer",
    { status: "pass", detail: `"issuer": "${ISSUER}", byte for byte` },
  ],
  [
    "no issuer in the document is shown as null",
    (f) => ({ ...f, discovery: doc(JSON.stringify({ jwks_uri: JWKS_URL })) }),
    "discovery-issuer",
    { status: "fail", detail: 'the discovery document has no string "issuer" (null)', fix: PUBLISH },
  ],
  [
    "an issuer that is not a string is shown as JSON",
    (f) => ({ ...f, discovery: doc(JSON.stringify({ issuer: 5, jwks_uri: JWKS_URL })) }),
    "discovery-issuer",
    { status: "fail", detail: 'the discovery document has no string "issuer" (5)', fix: PUBLISH },
  ],
  [
    "another issuer fails with both ways to fix it",
    (f) => ({ ...f, discovery: doc(discoveryBody("https://other.example.com")) }),
    "discovery-issuer",
    {
      status: "fail",
      detail: `the discovery document says "issuer": "https://other.example.com" is not "${ISSUER}"`,
      fix: `republish it with issuer exactly ${ISSUER} (irsa discovery --issuer ${ISSUER} --key sa.pub, or irsa issuer sync --public-issuer ${ISSUER}), or use https://other.example.com as the issuer everywhere`,
    },
  ],
]);

cases("doctor: jwks's words", [
  [
    "no jwks_uri asks for the default one",
    (f) => ({ ...f, discovery: doc(JSON.stringify({ issuer: ISSUER })) }),
    "jwks",
    {
      status: "fail",
      detail: 'the discovery document has no string "jwks_uri"',
      fix: `republish it with "jwks_uri": "${JWKS_URL}"`,
    },
  ],
  [
    "an invalid jwks_uri gives the URL check's message and hint, and kube-apiserver's flag",
    (f) => ({ ...f, discovery: doc(JSON.stringify({ issuer: ISSUER, jwks_uri: `${JWKS_URL}#k` })) }),
    "jwks",
    {
      status: "fail",
      detail: `jwks_uri "${JWKS_URL}#k" has a fragment (#k), which clients never send to the server`,
      fix: `drop everything from "#" on: ${JWKS_URL}; kube-apiserver: --service-account-jwks-uri`,
    },
  ],
  [
    "an empty jwks_uri names the discovery document's field in the URL check's hint, not --jwks-uri",
    (f) => ({ ...f, discovery: doc(JSON.stringify({ issuer: ISSUER, jwks_uri: "" })) }),
    "jwks",
    {
      status: "fail",
      detail: "jwks_uri is empty",
      fix: "pass an https URL with jwks_uri; kube-apiserver: --service-account-jwks-uri",
    },
  ],
  [
    "a JWKS not fetched is skipped",
    (f) => ({ ...f, jwks: undefined }),
    "jwks",
    { status: "skip", detail: "not fetched" },
  ],
  [
    "a failed fetch names the jwks_uri",
    (f) => ({ ...f, jwks: fetchError("http", "HTTP 401", 401) }),
    "jwks",
    { status: "fail", detail: `GET ${JWKS_URL}: HTTP 401`, fix: ANONYMOUS },
  ],
  [
    "application/json passes",
    (f) => ({ ...f, jwks: doc(jwksOf(key), { contentType: "APPLICATION/JSON" }) }),
    "jwks",
    { status: "pass", detail: `${JWKS_URL}: HTTP 200, APPLICATION/JSON, 12 ms, ${PUBLIC}` },
  ],
  [
    "application/jwk-set+json with parameters passes",
    (f) => ({ ...f, jwks: doc(jwksOf(key), { contentType: "application/jwk-set+json; charset=utf-8" }) }),
    "jwks",
    {
      status: "pass",
      detail: `${JWKS_URL}: HTTP 200, application/jwk-set+json; charset=utf-8, 12 ms, ${PUBLIC}`,
    },
  ],
  [
    "application/json with parameters passes for the JWKS too",
    (f) => ({ ...f, jwks: doc(jwksOf(key), { contentType: "application/json; charset=utf-8" }) }),
    "jwks",
    { status: "pass", detail: `${JWKS_URL}: HTTP 200, application/json; charset=utf-8, 12 ms, ${PUBLIC}` },
  ],
  [
    "application/jwk-set+json in any case passes",
    (f) => ({ ...f, jwks: doc(jwksOf(key), { contentType: "Application/JWK-Set+JSON", elapsedMs: 2000 }) }),
    "jwks",
    { status: "pass", detail: `${JWKS_URL}: HTTP 200, Application/JWK-Set+JSON, 2000 ms, ${PUBLIC}` },
  ],
  [
    "no Content-Type is a warning",
    (f) => ({ ...f, jwks: { ok: true, value: { ...okValue(doc(jwksOf(key))), contentType: undefined } } }),
    "jwks",
    {
      status: "warn",
      detail: `${JWKS_URL}: HTTP 200, no Content-Type, 12 ms, ${PUBLIC}`,
      fix: `serve ${JWKS_URL} with Content-Type: application/json`,
    },
  ],
  [
    "more than 2000 ms is slow",
    (f) => ({ ...f, jwks: doc(jwksOf(key), { elapsedMs: 2001 }) }),
    "jwks",
    {
      status: "warn",
      detail: `${JWKS_URL}: HTTP 200, application/json, 2001 ms, ${PUBLIC}: slow`,
      fix: SLOW_FIX,
    },
  ],
]);

cases("doctor: jwks-keys's words", [
  [
    "an empty key set says so",
    (f) => ({ ...f, jwks: doc('{"keys":[]}') }),
    "jwks-keys",
    { status: "fail", detail: "no key STS can use: the key set is empty", fix: JWKS_FIX },
  ],
  [
    "no usable key lists every problem",
    (f) => ({ ...f, jwks: doc(JSON.stringify({ keys: [1, { kty: "oct", kid: "s" }] })) }),
    "jwks-keys",
    {
      status: "fail",
      detail:
        'no key STS can use: keys[0] is a number, not an object; keys[1] (kid s) has kty "oct"; STS accepts RSA and EC keys',
      fix: JWKS_FIX,
    },
  ],
  [
    "one key passes, in the singular, with its type, kid and alg",
    (f) => f,
    "jwks-keys",
    { status: "pass", detail: "1 key: RSA kid-1 RS256" },
  ],
  [
    "two keys pass, in the plural",
    (f) => ({ ...f, jwks: doc(jwksOf(key, other)) }),
    "jwks-keys",
    { status: "pass", detail: "2 keys: RSA kid-1 RS256, RSA kid-2 RS256" },
  ],
  [
    "a key with an alg STS does not accept, and a key without kid or alg, are warnings",
    (f) => ({
      ...f,
      jwks: doc(
        JSON.stringify({
          keys: [
            { ...key.jwk, alg: "PS256" },
            { ...other.jwk, kid: undefined, alg: undefined },
          ],
        }),
      ),
    }),
    "jwks-keys",
    {
      status: "warn",
      detail:
        "2 keys: RSA kid-1 PS256, RSA (no kid); kid kid-1 has alg PS256, which STS does not accept; a key has no kid: STS must try every key",
      fix: JWKS_FIX,
    },
  ],
  [
    "a key with an alg STS does not accept and no kid is named as none",
    (f) => ({ ...f, jwks: doc(JSON.stringify({ keys: [{ ...key.jwk, kid: undefined, alg: "HS256" }] })) }),
    "jwks-keys",
    {
      status: "warn",
      detail:
        "1 key: RSA (no kid) HS256; kid none has alg HS256, which STS does not accept; a key has no kid: STS must try every key",
      fix: JWKS_FIX,
    },
  ],
]);

describe("doctor: outcomes and issuer comparisons", () => {
  it("an outcome carries notes only when there are some", () => {
    assert.deepEqual(pass("seen"), { status: "pass", detail: "seen" });
    assert.deepEqual(pass("seen", []), { status: "pass", detail: "seen" });
    assert.deepEqual(pass("seen", ["n"]), { status: "pass", detail: "seen", notes: ["n"] });
    assert.deepEqual(warn("seen", "do"), { status: "warn", detail: "seen", fix: "do" });
    assert.deepEqual(warn("seen", "do", []), { status: "warn", detail: "seen", fix: "do" });
    assert.deepEqual(warn("seen", "do", ["n"]), { status: "warn", detail: "seen", fix: "do", notes: ["n"] });
    assert.deepEqual(fail("seen", "do"), { status: "fail", detail: "seen", fix: "do" });
    assert.deepEqual(fail("seen", "do", []), { status: "fail", detail: "seen", fix: "do" });
    assert.deepEqual(fail("seen", "do", ["n"]), { status: "fail", detail: "seen", fix: "do", notes: ["n"] });
    assert.deepEqual(skip("why"), { status: "skip", detail: "why" });
  });

  it("two issuers differ only in a trailing slash when they differ and are equal without their trailing slashes", () => {
    assert.equal(onlySlashDiffers(`${ISSUER}/`, ISSUER), true);
    assert.equal(onlySlashDiffers(ISSUER, `${ISSUER}//`), true);
    assert.equal(onlySlashDiffers(`${ISSUER}//`, ISSUER), true);
    assert.equal(onlySlashDiffers(ISSUER, ISSUER), false);
    assert.equal(onlySlashDiffers(`${ISSUER}/`, `${ISSUER}/`), false);
    assert.equal(onlySlashDiffers(`${ISSUER}/x`, ISSUER), false);
    assert.equal(onlySlashDiffers("https:/oidc.example.com/cluster-1", ISSUER), false);
  });

  it("a mismatch quotes both issuers, and names the trailing slash when that is the only difference", () => {
    assert.equal(mismatch("https://a", "https://b"), '"https://a" is not "https://b"');
    assert.equal(
      mismatch("https://a/", "https://a"),
      '"https://a/" and "https://a" differ only in a trailing slash, and AWS STS compares issuers as strings',
    );
  });
});

const finding = (
  id: string,
  group: Finding["group"],
  status: Finding["status"],
  extra: Partial<Finding> = {},
): Finding => ({
  id,
  group,
  title: `${id} title`,
  status,
  detail: `${id} detail`,
  ...extra,
});

describe("doctor: the report", () => {
  it("counts each status, and is ok only when nothing failed", () => {
    const r = report([
      finding("a", "issuer", "pass"),
      finding("b", "issuer", "pass"),
      finding("c", "cluster", "warn"),
      finding("d", "iam", "skip"),
    ]);
    assert.deepEqual(r.summary, { pass: 2, warn: 1, fail: 0, skip: 1 });
    assert.equal(r.ok, true);
    assert.equal(r.version, 1);
    assert.equal(r.findings.length, 4);
    const failed = report([finding("a", "issuer", "pass"), finding("e", "exchange", "fail")]);
    assert.deepEqual(failed.summary, { pass: 1, warn: 0, fail: 1, skip: 0 });
    assert.equal(failed.ok, false);
  });

  it("text: each group under its title in chain order, ids padded to the longest, notes then the fix indented under their check", () => {
    const r = report([
      finding("sts-exchange", "exchange", "skip"),
      finding("issuer-url", "issuer", "warn", { fix: "use https" }),
      finding("cluster-keys", "cluster", "fail", {
        fix: "publish",
        notes: ["published: a", "cluster:   a, b"],
      }),
      finding("webhook-config", "webhook", "pass"),
      finding("iam-role", "iam", "pass", { notes: ["n"] }),
    ]);
    const indent = " ".repeat("webhook-config".length + 10);
    assert.equal(
      formatText(r),
      [
        "1 Issuer",
        "  warn  issuer-url      issuer-url detail",
        `${indent}fix: use https`,
        "2 Cluster",
        "  fail  cluster-keys    cluster-keys detail",
        `${indent}published: a`,
        `${indent}cluster:   a, b`,
        `${indent}fix: publish`,
        "3 Webhook",
        "  pass  webhook-config  webhook-config detail",
        "4 IAM",
        "  pass  iam-role        iam-role detail",
        `${indent}n`,
        "5 Exchange",
        "  skip  sts-exchange    sts-exchange detail",
        "result: FAILED: 2 passed, 1 warned, 1 failed, 1 skipped",
        "",
      ].join("\n"),
    );
  });

  it("text: a group with no findings has no title, and a report with none is only its result line", () => {
    assert.equal(
      formatText(report([finding("iam-role", "iam", "pass")])),
      "4 IAM\n  pass  iam-role  iam-role detail\nresult: ok: 1 passed, 0 warned, 0 failed, 0 skipped\n",
    );
    assert.equal(formatText(report([])), "result: ok: 0 passed, 0 warned, 0 failed, 0 skipped\n");
  });

  it("JSON: the report itself, indented by two spaces, with a final newline", () => {
    const r = report([finding("iam-role", "iam", "pass")]);
    const text = formatJson(r);
    assert.equal(text, `${JSON.stringify(r, null, 2)}\n`);
    assert.ok(text.startsWith('{\n  "version": 1,\n  "ok": true,'), text);
    assert.deepEqual(JSON.parse(text), r);
  });

  it("the schema refuses a report with an unknown field, a bad id, a negative count or an unknown status", () => {
    const r = JSON.parse(formatJson(report([finding("iam-role", "iam", "pass")]))) as Record<string, unknown>;
    assert.deepEqual(validate(REPORT_SCHEMA, r), []);
    assert.notDeepEqual(validate(REPORT_SCHEMA, { ...r, extra: 1 }), []);
    assert.notDeepEqual(validate(REPORT_SCHEMA, { ...r, version: 2 }), []);
    assert.notDeepEqual(
      validate(REPORT_SCHEMA, { ...r, summary: { pass: -1, warn: 0, fail: 0, skip: 0 } }),
      [],
    );
    assert.notDeepEqual(validate(REPORT_SCHEMA, { ...r, summary: { pass: 1, warn: 0, fail: 0 } }), []);
    assert.notDeepEqual(
      validate(REPORT_SCHEMA, { ...r, findings: [{ ...finding("Bad_Id", "iam", "pass") }] }),
      [],
    );
    assert.notDeepEqual(
      validate(REPORT_SCHEMA, { ...r, findings: [{ ...finding("x", "iam", "pass"), status: "ok" }] }),
      [],
    );
  });
});

/** The healthy facts' exchange: one that worked. */
const EXCHANGE = ((e = healthy().exchange) => {
  assert.ok(e !== undefined);
  return e;
})();

cases("doctor: the exchange's words", [
  [
    "no exchange is skipped with the reason the facts give",
    (f) => ({ ...f, exchange: undefined, skipped: { exchange: "no token to exchange" } }),
    "sts-exchange",
    { status: "skip", detail: "no token to exchange" },
  ],
  [
    "no exchange, with no reason, names the missing endpoint",
    (f) => ({ ...f, exchange: undefined }),
    "sts-exchange",
    { status: "skip", detail: "no --sts-endpoint and no token" },
  ],
  [
    "a refused exchange gives the STS's answer and how to compare it",
    (f) => ({
      ...f,
      exchange: { ...EXCHANGE, assumed: failed("AccessDenied: Not authorized"), caller: undefined },
    }),
    "sts-exchange",
    {
      status: "fail",
      detail: "STS at http://127.0.0.1:8080 refused the token: AccessDenied: Not authorized",
      fix: "every check above passed: compare the STS's own answer (for the local STS: irsa sts check --config FILE --token FILE --role-arn ARN)",
    },
  ],
  [
    "an exchange passes with the endpoint, the assumed role and the expiry",
    (f) => f,
    "sts-exchange",
    {
      status: "pass",
      detail:
        "http://127.0.0.1:8080: arn:aws:sts::111122223333:assumed-role/app/irsa-doctor, credentials until 2026-12-02T09:00:00Z",
    },
  ],
  [
    "GetCallerIdentity without credentials is skipped",
    (f) => ({ ...f, exchange: { ...EXCHANGE, caller: undefined } }),
    "sts-caller-identity",
    { status: "skip", detail: "no credentials" },
  ],
  [
    "a failed GetCallerIdentity names the endpoint to check",
    (f) => ({ ...f, exchange: { ...EXCHANGE, caller: failed("InvalidClientTokenId") } }),
    "sts-caller-identity",
    {
      status: "fail",
      detail: "GetCallerIdentity failed: InvalidClientTokenId",
      fix: "check the STS endpoint http://127.0.0.1:8080",
    },
  ],
  [
    "GetCallerIdentity passes with the ARN and the account",
    (f) => f,
    "sts-caller-identity",
    {
      status: "pass",
      detail: "arn:aws:sts::111122223333:assumed-role/app/irsa-doctor (account 111122223333)",
    },
  ],
]);

const WEBHOOK_FIX =
  "deploy the webhook: kubectl apply -k deploy/webhook (or name its configuration with --webhook-configuration)";
const RENEW =
  "renew the serving certificate (cert-manager renews before expiry; irsa webhook re-reads --tls-cert and --tls-key when they change)";
const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");
const serving =
  (s: Partial<{ verified: boolean; verifyError: string; notBefore: number; notAfter: number }>): Edit =>
  (f) =>
    webhook(f, {
      serving: gathered({
        verified: true,
        verifyError: undefined,
        subject: "CN=webhook",
        notBefore: NOW - 60,
        notAfter: NOW + 30 * 86_400,
        ...s,
      }),
    });
const dryRun =
  (containers: { name: string; env: Record<string, string> }[], volumes = ["aws-iam-token"]): Edit =>
  (f) =>
    webhook(f, { dryRun: gathered({ containers, volumes }) });
const TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const DRY_RUN_FIX =
  "check the webhook's log, its namespaceSelector and objectSelector, and that kube-apiserver reaches it (failurePolicy Ignore admits pods without credentials)";

cases("doctor: the webhook's words", [
  [
    "no webhook facts are skipped with the reason the facts give",
    (f) => ({ ...f, webhook: undefined, skipped: { webhook: "--no-webhook" } }),
    "webhook-config",
    { status: "skip", detail: "--no-webhook" },
  ],
  [
    "no webhook facts, with no reason, name the missing kubeconfig",
    (f) => ({ ...f, webhook: undefined }),
    "webhook-config",
    { status: "skip", detail: "no --kubeconfig" },
  ],
  [
    "a configuration that cannot be read gives the error",
    (f) => webhook(f, { webhooks: failed("forbidden") }),
    "webhook-config",
    {
      status: "fail",
      detail: "cannot read MutatingWebhookConfiguration pod-identity-webhook: forbidden",
      fix: WEBHOOK_FIX,
    },
  ],
  [
    "a configuration whose webhooks do not take pod CREATE fails",
    (f) => webhook(f, { webhooks: gathered([{ ...HOOK, podsCreate: false }]) }),
    "webhook-config",
    { status: "fail", detail: "pod-identity-webhook has no webhook for pod CREATE", fix: WEBHOOK_FIX },
  ],
  [
    "the webhook for pod CREATE is the one checked, whichever comes first",
    (f) =>
      webhook(f, {
        webhooks: gathered([{ ...HOOK, name: "other", podsCreate: false, caBundle: undefined }, HOOK]),
      }),
    "webhook-config",
    {
      status: "pass",
      detail:
        "pod-identity-webhook: pod-identity-webhook.amazonaws.com → https://127.0.0.1:9443/mutate, failurePolicy Ignore",
    },
  ],
  [
    "a webhook without a caBundle fails",
    (f) => webhook(f, { webhooks: gathered([{ ...HOOK, caBundle: undefined }]) }),
    "webhook-config",
    {
      status: "fail",
      detail: "webhook pod-identity-webhook.amazonaws.com has no caBundle: kube-apiserver cannot trust it",
      fix: "set clientConfig.caBundle (cert-manager: the cert-manager.io/inject-ca-from annotation)",
    },
  ],
  [
    "a webhook with an empty caBundle fails",
    (f) => webhook(f, { webhooks: gathered([{ ...HOOK, caBundle: "" }]) }),
    "webhook-config",
    {
      status: "fail",
      detail: "webhook pod-identity-webhook.amazonaws.com has no caBundle: kube-apiserver cannot trust it",
      fix: "set clientConfig.caBundle (cert-manager: the cert-manager.io/inject-ca-from annotation)",
    },
  ],
  [
    "a webhook behind a Service names it, and failurePolicy defaults to Fail",
    (f) =>
      webhook(f, {
        webhooks: gathered([
          { ...HOOK, url: undefined, service: "irsa/webhook:443", failurePolicy: undefined },
        ]),
      }),
    "webhook-config",
    {
      status: "pass",
      detail:
        "pod-identity-webhook: pod-identity-webhook.amazonaws.com → service irsa/webhook:443, failurePolicy Fail",
    },
  ],
  [
    "a webhook with neither URL nor Service shows a question mark",
    (f) => webhook(f, { webhooks: gathered([{ ...HOOK, url: undefined }]) }),
    "webhook-config",
    {
      status: "pass",
      detail: "pod-identity-webhook: pod-identity-webhook.amazonaws.com → service ?, failurePolicy Ignore",
    },
  ],
  [
    "a webhook that does not answer fails",
    (f) => webhook(f, { serving: failed("ECONNREFUSED") }),
    "webhook-tls",
    {
      status: "fail",
      detail: "the webhook does not answer: ECONNREFUSED",
      fix: "check that the webhook runs and that its URL or Service reaches it",
    },
  ],
  [
    "a certificate that ends now has expired, 0 days ago",
    serving({ notAfter: NOW }),
    "webhook-tls",
    {
      status: "fail",
      detail: `the serving certificate (CN=webhook) expired at ${iso(NOW)}, 0 days ago: kube-apiserver refuses it`,
      fix: RENEW,
    },
  ],
  [
    "the days since expiry are whole days, rounded down",
    serving({ notAfter: NOW - 2 * 86_400 - 86_399 }),
    "webhook-tls",
    {
      status: "fail",
      detail: `the serving certificate (CN=webhook) expired at ${iso(NOW - 2 * 86_400 - 86_399)}, 2 days ago: kube-apiserver refuses it`,
      fix: RENEW,
    },
  ],
  [
    "a certificate valid from a second later is not yet valid",
    serving({ notBefore: NOW + 1 }),
    "webhook-tls",
    {
      status: "fail",
      detail: `the serving certificate (CN=webhook) is not valid before ${iso(NOW + 1)}`,
      fix: "check the clocks, or reissue the certificate",
    },
  ],
  [
    "a certificate valid from now is valid",
    serving({ notBefore: NOW }),
    "webhook-tls",
    {
      status: "pass",
      detail: `the caBundle verifies CN=webhook; it expires ${iso(NOW + 30 * 86_400)}, in 30 days`,
    },
  ],
  [
    "a caBundle that does not verify, without a reason, says unknown",
    serving({ verified: false }),
    "webhook-tls",
    {
      status: "fail",
      detail: "the caBundle does not verify the serving certificate (CN=webhook): unknown",
      fix: "put the CA that issued the serving certificate in clientConfig.caBundle (cert-manager: the cert-manager.io/inject-ca-from annotation)",
    },
  ],
  [
    "48 hours left are counted in days",
    serving({ notAfter: NOW + 48 * 3600 }),
    "webhook-tls",
    {
      status: "pass",
      detail: `the caBundle verifies CN=webhook; it expires ${iso(NOW + 48 * 3600)}, in 2 days`,
    },
  ],
  [
    "less than 48 hours left are counted in whole hours",
    serving({ notAfter: NOW + 48 * 3600 - 1 }),
    "webhook-tls",
    {
      status: "pass",
      detail: `the caBundle verifies CN=webhook; it expires ${iso(NOW + 48 * 3600 - 1)}, in 47 hours`,
    },
  ],
  [
    "a day left exactly passes",
    serving({ notAfter: NOW + 86_400 }),
    "webhook-tls",
    {
      status: "pass",
      detail: `the caBundle verifies CN=webhook; it expires ${iso(NOW + 86_400)}, in 24 hours`,
    },
  ],
  [
    "less than a day left is a warning to renew",
    serving({ notAfter: NOW + 86_399 }),
    "webhook-tls",
    {
      status: "warn",
      detail: `the caBundle verifies CN=webhook; it expires ${iso(NOW + 86_399)}, in 23 hours: less than a day`,
      fix: RENEW,
    },
  ],
  [
    "no dry run without a service account names the flag",
    (f) => webhook({ ...f, serviceAccount: undefined }, { dryRun: undefined }),
    "webhook-dry-run",
    { status: "skip", detail: "no --service-account NS/NAME" },
  ],
  [
    "no dry run with a service account says so",
    (f) => webhook(f, { dryRun: undefined }),
    "webhook-dry-run",
    { status: "skip", detail: "no dry run" },
  ],
  [
    "a dry run that failed gives the error and the permission",
    (f) => webhook(f, { dryRun: failed("forbidden") }),
    "webhook-dry-run",
    {
      status: "fail",
      detail: "the dry-run pod create failed: forbidden",
      fix: "the --kubeconfig identity needs create on pods in the namespace",
    },
  ],
  [
    "each container's missing or other role and missing token file are named",
    dryRun([
      {
        name: "app",
        env: {
          AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/other",
          AWS_WEB_IDENTITY_TOKEN_FILE: TOKEN_FILE,
        },
      },
      { name: "sidecar", env: { AWS_ROLE_ARN: ROLE_ARN } },
      { name: "init", env: {} },
    ]),
    "webhook-dry-run",
    {
      status: "fail",
      detail:
        "the pod came back without its credentials: container app: AWS_ROLE_ARN is arn:aws:iam::111122223333:role/other; container sidecar: AWS_WEB_IDENTITY_TOKEN_FILE missing; container init: AWS_ROLE_ARN missing; container init: AWS_WEB_IDENTITY_TOKEN_FILE missing",
      fix: DRY_RUN_FIX,
    },
  ],
  [
    "a pod without the token volume fails",
    dryRun(
      [{ name: "app", env: { AWS_ROLE_ARN: ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE: TOKEN_FILE } }],
      ["aws-token"],
    ),
    "webhook-dry-run",
    {
      status: "fail",
      detail: "the pod came back without its credentials: volume aws-iam-token missing",
      fix: DRY_RUN_FIX,
    },
  ],
  [
    "a pod with both variables in every container and the volume passes",
    (f) => f,
    "webhook-dry-run",
    {
      status: "pass",
      detail: "the pod came back with AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token volume",
    },
  ],
]);

const jwksWith = (v: Partial<{ thumbprint: string | undefined; trust: "public" | "ca-file" }>): Fetch => ({
  ok: true,
  value: { ...okValue(doc(jwksOf(key))), ...v },
});

cases("doctor: issuer-thumbprint's words", [
  [
    "a JWKS host that sent no certificate chain is skipped",
    (f) => ({ ...f, jwks: jwksWith({ thumbprint: undefined }) }),
    "issuer-thumbprint",
    { status: "skip", detail: "the server presented no certificate chain to take it from" },
  ],
  [
    "a public CA's thumbprint is not needed",
    (f) => f,
    "issuer-thumbprint",
    { status: "pass", detail: `${THUMB}: not needed, AWS trusts the public CA` },
  ],
  [
    "a private CA's thumbprint is needed on the provider, and a discovery host with another one is named",
    (f) => ({
      ...f,
      jwks: jwksWith({ trust: "ca-file" }),
      discovery: { ok: true, value: { ...okValue(doc(discoveryBody())), thumbprint: "cd".repeat(20) } },
    }),
    "issuer-thumbprint",
    {
      status: "pass",
      detail: `${THUMB} (discovery host: ${"cd".repeat(20)}): AWS STS needs it on the IAM provider (private CA)`,
    },
  ],
  [
    "a discovery host without a thumbprint is not named",
    (f) => ({
      ...f,
      discovery: { ok: true, value: { ...okValue(doc(discoveryBody())), thumbprint: undefined } },
    }),
    "issuer-thumbprint",
    { status: "pass", detail: `${THUMB}: not needed, AWS trusts the public CA` },
  ],
]);

describe("doctor: the JWKS's size", () => {
  const many = (n: number): Fetch =>
    doc(JSON.stringify({ keys: Array.from({ length: n }, (_, i) => ({ ...key.jwk, kid: `k${i}` })) }));
  it("100 keys pass", async () => {
    const r = await diagnose({ ...healthy(), jwks: many(100) });
    assert.equal(get(r, "jwks-keys")?.status, "pass");
    assert.match(get(r, "jwks-keys")?.detail ?? "", /^100 keys: RSA k0 RS256, /);
  });
  it("more than 100 keys is a warning that AWS's lookup may break", async () => {
    const r = await diagnose({ ...healthy(), jwks: many(101) });
    assert.equal(get(r, "jwks-keys")?.status, "warn");
    assert.match(
      get(r, "jwks-keys")?.detail ?? "",
      /^101 keys: RSA k0 RS256, .*, RSA k100 RS256; 101 keys: more than 100 is reported to break AWS's lookup$/,
    );
  });
});

const KUBECONFIG_FIX =
  "check --kubeconfig; its identity needs the ClusterRole system:service-account-issuer-discovery";
const KEYS_FIX =
  "publish the cluster's current keys: irsa issuer sync --from kube (it keeps rotated keys for --retain), or irsa jwks --key sa.pub --key old-sa.pub";
const oldIssToken = await signed(key, { iss: "https://old.example.com" });
const noKidToken = await signToken(key, {}, { kid: undefined });
const noAudToken = await signed(key, { aud: undefined });
const ANNOTATE =
  "kubectl annotate serviceaccount -n team-a app eks.amazonaws.com/role-arn=arn:aws:iam::ACCOUNT:role/NAME";

cases("doctor: the cluster group's words", [
  [
    "no cluster facts are skipped with the reason the facts give",
    (f) => ({ ...f, cluster: undefined, skipped: { cluster: "--no-cluster" } }),
    "cluster-issuer",
    { status: "skip", detail: "--no-cluster" },
  ],
  [
    "no cluster facts, with no reason, name the missing kubeconfig",
    (f) => ({ ...f, cluster: undefined }),
    "cluster-issuer",
    { status: "skip", detail: "no --kubeconfig" },
  ],
  [
    "an API server issuer that cannot be read gives the error",
    (f) => cluster(f, { discovery: failed("forbidden") }),
    "cluster-issuer",
    { status: "fail", detail: "cannot read the API server's issuer: forbidden", fix: KUBECONFIG_FIX },
  ],
  [
    "an API server discovery document that is not JSON has no issuer",
    (f) => cluster(f, { discovery: gathered("<html>") }),
    "cluster-issuer",
    {
      status: "fail",
      detail: "cannot read the API server's issuer: the API server's discovery document has no issuer",
      fix: KUBECONFIG_FIX,
    },
  ],
  [
    "an API server discovery document without a string issuer has no issuer",
    (f) => cluster(f, { discovery: gathered(JSON.stringify({ issuer: 1 })) }),
    "cluster-issuer",
    {
      status: "fail",
      detail: "cannot read the API server's issuer: the API server's discovery document has no issuer",
      fix: KUBECONFIG_FIX,
    },
  ],
  [
    "an API server discovery document that is a string has no issuer",
    (f) => cluster(f, { discovery: gathered(JSON.stringify(ISSUER)) }),
    "cluster-issuer",
    {
      status: "fail",
      detail: "cannot read the API server's issuer: the API server's discovery document has no issuer",
      fix: KUBECONFIG_FIX,
    },
  ],
  [
    "an API server on another issuer is told to take the published one, keeping its own for its tokens",
    (f) => cluster(f, { discovery: gathered(discoveryBody("https://kubernetes.default.svc")) }),
    "cluster-issuer",
    {
      status: "fail",
      detail: `kube-apiserver --service-account-issuer: "https://kubernetes.default.svc" is not "${ISSUER}"`,
      fix: `run kube-apiserver with --service-account-issuer=${ISSUER} first (keep https://kubernetes.default.svc as a second --service-account-issuer until the tokens it signed expire)`,
    },
  ],
  [
    "tokens that carry another iss fail",
    (f) => cluster(f, { token: gathered(oldIssToken) }),
    "cluster-issuer",
    {
      status: "fail",
      detail: `TokenRequest tokens carry iss "https://old.example.com" is not "${ISSUER}"`,
      fix: `run kube-apiserver with --service-account-issuer=${ISSUER} first (keep ${ISSUER} as a second --service-account-issuer until the tokens it signed expire)`,
    },
  ],
  [
    "the issuer passes, and says the tokens carry it",
    (f) => f,
    "cluster-issuer",
    { status: "pass", detail: `${ISSUER}, and tokens carry it as iss` },
  ],
  [
    "the issuer passes without a token to compare",
    (f) => cluster(f, { token: undefined, review: undefined }),
    "cluster-issuer",
    { status: "pass", detail: ISSUER },
  ],
  [
    "no ServiceAccount facts without a cluster are skipped with the cluster's reason",
    (f) => ({ ...f, cluster: undefined, skipped: { cluster: "--no-cluster" } }),
    "service-account",
    { status: "skip", detail: "--no-cluster" },
  ],
  [
    "no ServiceAccount asked for names the flag",
    (f) => cluster(f, { serviceAccount: undefined }),
    "service-account",
    { status: "skip", detail: "no --service-account NS/NAME" },
  ],
  [
    "a ServiceAccount that cannot be read gives the error",
    (f) => cluster(f, { serviceAccount: failed("forbidden") }),
    "service-account",
    { status: "fail", detail: "cannot read ServiceAccount team-a/app: forbidden", fix: KUBECONFIG_FIX },
  ],
  [
    "a missing ServiceAccount is created",
    (f) =>
      cluster(f, {
        serviceAccount: gathered({ namespace: "team-a", name: "app", annotations: undefined }),
        token: undefined,
      }),
    "service-account",
    {
      status: "fail",
      detail: "ServiceAccount team-a/app does not exist",
      fix: "kubectl create serviceaccount -n team-a app",
    },
  ],
  [
    "an account without a role is annotated",
    (f) => ({ ...f, roleArn: undefined }),
    "service-account",
    {
      status: "fail",
      detail:
        "ServiceAccount team-a/app has no eks.amazonaws.com/role-arn annotation: the webhook leaves its pods alone",
      fix: ANNOTATE,
    },
  ],
  [
    "a role that is not a role ARN is annotated again, with --overwrite",
    (f) => ({ ...f, roleArn: "arn:aws:iam::1:role/app" }),
    "service-account",
    {
      status: "fail",
      detail: '"arn:aws:iam::1:role/app" is not a role ARN',
      fix: `${ANNOTATE} --overwrite`,
    },
  ],
  [
    "an account with a role passes with its role and audience",
    (f) => f,
    "service-account",
    { status: "pass", detail: `team-a/app: role ${ROLE_ARN}, audience ${AUD}` },
  ],
  [
    "an API server JWKS that cannot be read gives the error",
    (f) => cluster(f, { jwks: failed("forbidden") }),
    "cluster-keys",
    { status: "fail", detail: "cannot read the API server's JWKS: forbidden", fix: KUBECONFIG_FIX },
  ],
  [
    "a signing key that is not published fails, with both key lists",
    (f) => cluster({ ...f, jwks: doc(jwksOf(other)) }, { jwks: gathered(jwksOf(key, other)) }),
    "cluster-keys",
    {
      status: "fail",
      detail:
        "the key the cluster signs with (kid kid-1) is not in the published JWKS: STS cannot verify its tokens",
      fix: KEYS_FIX,
      notes: ["published: kid-2", "cluster:   kid-1, kid-2"],
    },
  ],
  [
    "keys without a kid are shown as such in both lists",
    (f) =>
      cluster(
        { ...f, jwks: doc(JSON.stringify({ keys: [{ ...other.jwk, kid: undefined }] })) },
        { jwks: gathered(JSON.stringify({ keys: [key.jwk, { ...other.jwk, kid: undefined }] })) },
      ),
    "cluster-keys",
    {
      status: "fail",
      detail:
        "the key the cluster signs with (kid kid-1) is not in the published JWKS: STS cannot verify its tokens",
      fix: KEYS_FIX,
      notes: ["published: (no kid)", "cluster:   kid-1, (no kid)"],
    },
  ],
  [
    "without a token, every key the cluster accepts must be published",
    (f) => cluster(f, { token: undefined, review: undefined, jwks: gathered(jwksOf(key, other)) }),
    "cluster-keys",
    {
      status: "fail",
      detail: "keys of the cluster missing from the published JWKS: kid-2",
      fix: KEYS_FIX,
      notes: ["published: kid-1", "cluster:   kid-1, kid-2"],
    },
  ],
  [
    "a token without a kid is checked like no token",
    (f) => cluster(f, { token: gathered(noKidToken), jwks: gathered(jwksOf(key, other)) }),
    "cluster-keys",
    {
      status: "fail",
      detail: "keys of the cluster missing from the published JWKS: kid-2",
      fix: KEYS_FIX,
      notes: ["published: kid-1", "cluster:   kid-1, kid-2"],
    },
  ],
  [
    "a published signing key beside an unpublished accepted one is a warning",
    (f) => cluster(f, { jwks: gathered(jwksOf(key, other)) }),
    "cluster-keys",
    {
      status: "warn",
      detail:
        "kid kid-1 is published, but the cluster still accepts keys that are not: kid-2 (tokens they signed fail at STS)",
      fix: KEYS_FIX,
      notes: ["published: kid-1", "cluster:   kid-1, kid-2"],
    },
  ],
  [
    "a published signing key passes",
    (f) => f,
    "cluster-keys",
    { status: "pass", detail: "the signing key (kid kid-1) and every key the cluster accepts are published" },
  ],
  [
    "without a token, every accepted key published passes",
    (f) => cluster(f, { token: undefined, review: undefined }),
    "cluster-keys",
    { status: "pass", detail: "every key the cluster accepts is published" },
  ],
  [
    "no token without a cluster is skipped with the cluster's reason",
    (f) => ({ ...f, cluster: undefined }),
    "cluster-token",
    { status: "skip", detail: "no --kubeconfig" },
  ],
  [
    "no token with a cluster names the flag",
    (f) => cluster(f, { serviceAccount: undefined, token: undefined, review: undefined }),
    "cluster-token",
    { status: "skip", detail: "no --service-account NS/NAME" },
  ],
  [
    "a failed TokenRequest names the account and what the API server needs",
    (f) => cluster(f, { token: failed("forbidden"), review: undefined }),
    "cluster-token",
    {
      status: "fail",
      detail: "TokenRequest for team-a/app failed: forbidden",
      fix: "give kube-apiserver --service-account-signing-key-file and --service-account-issuer; the --kubeconfig identity needs create on serviceaccounts/token",
    },
  ],
  [
    "a token without aud still verifies: the audience is IAM's check",
    (f) => cluster(f, { token: gathered(noAudToken) }),
    "cluster-token",
    {
      status: "pass",
      detail:
        "RS256 token for system:serviceaccount:team-a:app, aud []: signature, expiry and issued-at pass STS's checks with the published keys",
    },
  ],
  [
    "a token passes with its algorithm, subject and audiences",
    (f) => f,
    "cluster-token",
    {
      status: "pass",
      detail: `RS256 token for system:serviceaccount:team-a:app, aud ["${AUD}"]: signature, expiry and issued-at pass STS's checks with the published keys`,
    },
  ],
  [
    "no review is skipped",
    (f) => cluster(f, { review: undefined }),
    "cluster-audiences",
    { status: "skip", detail: "no token to review" },
  ],
  [
    "a failed review names the permission",
    (f) => cluster(f, { review: failed("forbidden") }),
    "cluster-audiences",
    {
      status: "fail",
      detail: "TokenReview failed: forbidden",
      fix: "the --kubeconfig identity needs create on tokenreviews",
    },
  ],
  [
    "an authenticated review passes",
    (f) => f,
    "cluster-audiences",
    { status: "pass", detail: `kube-apiserver accepts tokens for ${AUD} (--api-audiences)` },
  ],
  [
    "a review refused with an error is a warning that gives it",
    (f) => cluster(f, { review: gathered({ authenticated: false, error: "token audiences are invalid" }) }),
    "cluster-audiences",
    {
      status: "warn",
      detail: `kube-apiserver does not accept tokens for ${AUD} (token audiences are invalid): pods' tokens work at STS, but not against the API server`,
      fix: `add ${AUD} to kube-apiserver's --api-audiences if pods should use one token for both`,
    },
  ],
  [
    "a review refused without an error is a warning",
    (f) => cluster(f, { review: gathered({ authenticated: false, error: undefined }) }),
    "cluster-audiences",
    {
      status: "warn",
      detail: `kube-apiserver does not accept tokens for ${AUD}: pods' tokens work at STS, but not against the API server`,
      fix: `add ${AUD} to kube-apiserver's --api-audiences if pods should use one token for both`,
    },
  ],
]);

describe("doctor: cluster-token's refusals", () => {
  it("a token STS's own checks refuse names the check, its reason and STS's error", async () => {
    const r = await diagnose(cluster(healthy(), { token: gathered(expiredToken) }));
    const o = outcome(r, "cluster-token");
    assert.equal(o.status, "fail");
    assert.equal(
      o.detail,
      `STS's expiry check refuses the token: expired at ${NOW - 3600}, 3600 s ago (ExpiredTokenException: Token expired: current date/time ${NOW} must be before the expiration date/time${NOW - 3600})`,
    );
    assert.equal(
      o.fix,
      "publish the keys the cluster signs with (irsa issuer sync --from kube), and check kube-apiserver's clock",
    );
  });
});

const MOTO = "http://127.0.0.1:5000";
const viaMoto: Edit = (f) => iam(f, { source: MOTO });
const PROVIDER_FIX = `aws iam create-open-id-connect-provider --url ${ISSUER} --client-id-list ${AUD}`;
const caTrust: Edit = (f) => ({ ...f, caFile: "/ca.pem", jwks: jwksWith({ trust: "ca-file" }) });
const withProvider =
  (clientIds: string[], thumbprints: string[] | undefined): Edit =>
  (f) =>
    iam(f, { provider: gathered({ clientIds, thumbprints }) });
const withRole =
  (maxSessionDuration: number | undefined): Edit =>
  (f) =>
    iam(f, { role: gathered({ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, maxSessionDuration }) });
const then =
  (...edits: Edit[]): Edit =>
  (f) =>
    edits.reduce((x, e) => e(x), f);
const OLD_THUMBS = ["01", "02", "03", "04", "05"].map((t) => t.repeat(20));
const DENY =
  'no statement allows: Statement[0] (Sid "AllowApp") does not apply: condition StringEquals: oidc.example.com/cluster-1:sub is "system:serviceaccount:team-a:app": StringEquals "system:serviceaccount:team-b:app" does not match';
const APPLIES = 'Statement[0] (Sid "AllowApp") (Allow): applies: principal, action and every condition match';

cases("doctor: the IAM group's words", [
  [
    "no IAM facts are skipped with the reason the facts give",
    (f) => ({ ...f, iam: undefined, skipped: { iam: "no AWS credentials" } }),
    "iam-provider",
    { status: "skip", detail: "no AWS credentials" },
  ],
  [
    "no IAM facts, with no reason, name both ways to reach IAM",
    (f) => ({ ...f, iam: undefined }),
    "iam-provider",
    { status: "skip", detail: "no AWS credentials and no --endpoint-url" },
  ],
  [
    "a provider that cannot be read names its ARN and the error",
    (f) => iam(f, { provider: failed("AccessDenied") }),
    "iam-provider",
    {
      status: "fail",
      detail: `cannot read ${PROVIDER_ARN}: AccessDenied`,
      fix: "give the caller iam:GetOpenIDConnectProvider",
    },
  ],
  [
    "a missing provider is created, at the --endpoint-url IAM was asked at",
    then(viaMoto, (f) => iam(f, { provider: gathered(undefined) })),
    "iam-provider",
    {
      status: "fail",
      detail: `no IAM OIDC provider ${PROVIDER_ARN}`,
      fix: `${PROVIDER_FIX} --endpoint-url ${MOTO}`,
    },
  ],
  [
    "a provider of another URL than a trailing slash is not named",
    (f) => iam(f, { provider: gathered(undefined), nearProviderArn: `${PROVIDER_ARN}-2` }),
    "iam-provider",
    { status: "fail", detail: `no IAM OIDC provider ${PROVIDER_ARN}`, fix: PROVIDER_FIX },
  ],
  [
    "a provider with a trailing slash is named, and the other one deleted",
    (f) => iam(f, { provider: gathered(undefined), nearProviderArn: `${PROVIDER_ARN}/` }),
    "iam-provider",
    {
      status: "fail",
      detail: `no IAM OIDC provider ${PROVIDER_ARN}; ${PROVIDER_ARN}/ exists, but differs only in a trailing slash, and STS compares the token's iss with the provider URL as a string`,
      fix: `${PROVIDER_FIX} (and delete the other one)`,
    },
  ],
  [
    "a provider passes with its source, client IDs and number of thumbprints",
    withProvider([AUD, "other"], ["ab".repeat(20)]),
    "iam-provider",
    { status: "pass", detail: `${PROVIDER_ARN} (AWS): client IDs ["${AUD}","other"], 1 thumbprint(s)` },
  ],
  [
    "a provider without thumbprints does not count them",
    fromStsConfig,
    "iam-provider",
    { status: "pass", detail: `${PROVIDER_ARN} (the STS config ${STS_FILE}): client IDs ["${AUD}"]` },
  ],
  [
    "the audience among the client IDs passes",
    (f) => f,
    "iam-audience",
    { status: "pass", detail: `${AUD} is a client ID of the provider` },
  ],
  [
    "a missing audience is added, at the --endpoint-url IAM was asked at",
    then(viaMoto, withProvider(["other"], [])),
    "iam-audience",
    {
      status: "fail",
      detail: `the provider's client IDs ["other"] lack ${AUD}, the audience the webhook injects: STS answers "Incorrect token audience"`,
      fix: `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${PROVIDER_ARN} --client-id ${AUD} --endpoint-url ${MOTO}`,
    },
  ],
  [
    "a public CA needs no thumbprint",
    (f) => f,
    "iam-thumbprint",
    {
      status: "pass",
      detail: "the JWKS host's certificate chains to a public CA: AWS does not use thumbprints",
    },
  ],
  [
    "a provider that trusts a caFile is skipped",
    then(caTrust, fromStsConfig),
    "iam-thumbprint",
    { status: "skip", detail: `the STS config ${STS_FILE} trusts the provider's caFile, not thumbprints` },
  ],
  [
    "a private CA's thumbprint among the provider's passes, in any case",
    then(caTrust, withProvider([AUD], ["01".repeat(20), THUMB.toUpperCase()])),
    "iam-thumbprint",
    { status: "pass", detail: `${THUMB} is among the provider's thumbprints` },
  ],
  [
    "a missing thumbprint is added to the last four of the provider's, at the --endpoint-url IAM was asked at",
    then(caTrust, viaMoto, withProvider([AUD], OLD_THUMBS)),
    "iam-thumbprint",
    {
      status: "fail",
      detail: `the JWKS host's certificate chains to a private CA, and its thumbprint ${THUMB} is not among the provider's ${JSON.stringify(OLD_THUMBS)}: STS cannot fetch the keys`,
      fix: `aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn ${PROVIDER_ARN} --thumbprint-list ${[...OLD_THUMBS.slice(1), THUMB].join(" ")} --endpoint-url ${MOTO}`,
    },
  ],
  [
    "no IAM facts skip the role with the reason the facts give",
    (f) => ({ ...f, iam: undefined, skipped: { iam: "no AWS credentials" } }),
    "iam-role",
    { status: "skip", detail: "no AWS credentials" },
  ],
  [
    "no role to look up is skipped",
    (f) => ({ ...f, roleArn: undefined, cluster: undefined }),
    "iam-role",
    { status: "skip", detail: "no role: no --role-arn and no annotation" },
  ],
  [
    "a role that cannot be read names its ARN and the error",
    (f) => iam(f, { role: failed("AccessDenied") }),
    "iam-role",
    { status: "fail", detail: `cannot read ${ROLE_ARN}: AccessDenied`, fix: "give the caller iam:GetRole" },
  ],
  [
    "a missing role is created, at the --endpoint-url IAM was asked at",
    then(viaMoto, (f) => iam(f, { role: gathered(undefined) })),
    "iam-role",
    {
      status: "fail",
      detail: `no role ${ROLE_ARN}`,
      fix: `irsa iam trust-policy --issuer ${ISSUER} --service-account team-a/app --audience ${AUD} --account-id 111122223333 > trust.json && aws iam create-role --role-name app --assume-role-policy-document file://trust.json --endpoint-url ${MOTO}`,
    },
  ],
  [
    "a role passes with its longest session",
    withRole(7200),
    "iam-role",
    { status: "pass", detail: `${ROLE_ARN}, sessions up to 7200 s` },
  ],
  [
    "a role without a longest session has IAM's default, an hour",
    withRole(undefined),
    "iam-role",
    { status: "pass", detail: `${ROLE_ARN}, sessions up to 3600 s` },
  ],
  [
    "a trust policy that admits the account passes, with the statement that decides",
    (f) => f,
    "iam-trust-policy",
    {
      status: "pass",
      detail:
        'STS would allow system:serviceaccount:team-a:app: Statement[0] (Sid "AllowApp") allows: principal, action and every condition match',
      notes: [APPLIES],
    },
  ],
  [
    "a role whose longest session is shorter than STS's default hour is refused by the duration check",
    withRole(900),
    "iam-trust-policy",
    {
      status: "fail",
      detail:
        "STS's duration check refuses the token: DurationSeconds 3600 exceeds the role's maximum 900 (ValidationError)",
      fix: `irsa iam trust-policy --issuer ${ISSUER} --service-account team-a/app --audience ${AUD} --account-id 111122223333 > trust.json && aws iam update-assume-role-policy --role-name app --policy-document file://trust.json`,
      notes: [APPLIES],
    },
  ],
  [
    "a trust policy's fix goes to the --endpoint-url IAM was asked at",
    then(viaMoto, (f) =>
      iam(f, {
        role: gathered({
          arn: ROLE_ARN,
          trustPolicy: policyFor("system:serviceaccount:team-b:app"),
          maxSessionDuration: 3600,
        }),
      }),
    ),
    "iam-trust-policy",
    {
      status: "fail",
      detail: `STS would deny system:serviceaccount:team-a:app (AccessDenied): ${DENY}`,
      fix: `irsa iam trust-policy --issuer ${ISSUER} --service-account team-a/app --audience ${AUD} --account-id 111122223333 > trust.json && aws iam update-assume-role-policy --role-name app --policy-document file://trust.json --endpoint-url ${MOTO}`,
      notes: [
        `Statement[0] (Sid "AllowApp") (Allow): does not apply: ${DENY.slice(DENY.indexOf("condition"))}`,
      ],
    },
  ],
  [
    "a trust policy STS cannot parse gives the parser's reason",
    (f) =>
      iam(f, {
        role: gathered({ arn: ROLE_ARN, trustPolicy: { Statement: "x" }, maxSessionDuration: 3600 }),
      }),
    "iam-trust-policy",
    {
      status: "fail",
      detail:
        "the role's trust policy is not one STS can evaluate: trust policy: Statement: expected an object, got a string",
      fix: "fix the trust policy document (irsa iam trust-policy prints a least-privilege one)",
    },
  ],
]);

describe("doctor: the chain", () => {
  it("a check that throws is a failure that gives the error, and the run goes on", async () => {
    const w = { ...(healthy().webhook as NonNullable<DoctorFacts["webhook"]>) };
    Object.defineProperty(w, "dryRun", {
      get() {
        throw new Error("boom");
      },
    });
    const r = await diagnose({ ...healthy(), webhook: w });
    assert.deepEqual(outcome(r, "webhook-dry-run"), {
      status: "fail",
      detail: "the check itself failed: boom",
      fix: "report this as a bug",
    });
    only(r, "fail", "webhook-dry-run");
    assert.equal(get(r, "iam-trust-policy")?.status, "pass");
  });

  it("a check skipped for failed prerequisites names each once, in the order it needs them, and so do the checks after it", async () => {
    const r = await diagnose(
      then(
        (f) => cluster(f, { discovery: gathered(discoveryBody("https://kubernetes.default.svc")) }),
        (f) => iam(f, { role: failed("AccessDenied") }),
      )(healthy()),
    );
    assert.deepEqual(fails(r), ["cluster-issuer", "iam-role"]);
    assert.equal(get(r, "iam-trust-policy")?.detail, "not checked: iam-role, cluster-issuer failed");
    assert.equal(get(r, "sts-exchange")?.detail, "not checked: cluster-issuer, iam-role failed");
    assert.equal(get(r, "sts-caller-identity")?.detail, "not checked: cluster-issuer, iam-role failed");
  });

  it("a check after another that failed is skipped, one after another that was skipped runs", async () => {
    const r = await diagnose({ ...healthy(), roleArn: undefined });
    assert.deepEqual(fails(r), ["service-account"]);
    assert.equal(get(r, "iam-audience")?.detail, "not checked: service-account failed");
    assert.equal(get(r, "iam-role")?.detail, "not checked: service-account failed");
    const skipped = await diagnose({ ...healthy(), cluster: undefined });
    assert.equal(get(skipped, "service-account")?.status, "skip");
    assert.equal(get(skipped, "iam-audience")?.status, "pass");
  });

  it("a check whose prerequisite was skipped gives that reason, even when another prerequisite passed", async () => {
    const r = await diagnose(
      cluster(healthy(), { serviceAccount: undefined, token: undefined, review: undefined }),
    );
    assert.equal(get(r, "cluster-keys")?.status, "pass");
    assert.deepEqual(outcome(r, "cluster-token"), { status: "skip", detail: "no --service-account NS/NAME" });
    assert.deepEqual(outcome(r, "webhook-dry-run"), {
      status: "skip",
      detail: "no --service-account NS/NAME",
    });
  });

  it("the exchange waits for every check before it, but not for a warning or a skip", async () => {
    const r = await diagnose(
      then(
        (f) => cluster(f, { review: gathered({ authenticated: false, error: undefined }) }),
        (f) => webhook(f, { serving: undefined }),
      )(healthy()),
    );
    assert.equal(get(r, "sts-exchange")?.status, "pass");
    assert.equal(get(r, "sts-caller-identity")?.status, "pass");
  });
});

describe("doctor: a TokenRequest answer STS would not read", () => {
  it("a token that is not a JWT fails cluster-token with STS's token-format check, and the exchange is not tried", async () => {
    const r = await diagnose(cluster(healthy(), { token: gathered("not-a-jwt") }));
    only(r, "fail", "cluster-token");
    assert.match(
      get(r, "cluster-token")?.detail ?? "",
      /^STS's token-format check refuses the token: .+ \(InvalidIdentityToken: .+\)$/,
    );
    assert.equal(get(r, "sts-exchange")?.detail, "not checked: cluster-token failed");
  });

  it("a token without sub fails cluster-token with STS's claims check", async () => {
    const r = await diagnose(cluster(healthy(), { token: gathered(await signed(key, { sub: undefined })) }));
    only(r, "fail", "cluster-token");
    assert.equal(
      get(r, "cluster-token")?.detail,
      "STS's claims check refuses the token: sub is missing (InvalidIdentityToken: Missing a required claim: sub)",
    );
  });
});

describe("doctor: the checks' names", () => {
  it("the README's table lists every check under its group, in chain order", async () => {
    const { readFile } = await import("node:fs/promises");
    const { REPO_ROOT } = await import("../support/paths.js");
    const readme = await readFile(`${REPO_ROOT}README.md`, "utf8");
    const rows = [...readme.matchAll(/^\| ([1-5] \w+) +\| (.+) \|$/gm)].map((m) => [
      m[1],
      [...(m[2] ?? "").matchAll(/(?:^|, )`([a-z-]+)`/g)].map((x) => x[1]),
    ]);
    const r = await diagnose(healthy());
    const byGroup = ["1 Issuer", "2 Cluster", "3 Webhook", "4 IAM", "5 Exchange"].map((title, i) => [
      title,
      r.findings
        .filter((x) => x.group === ["issuer", "cluster", "webhook", "iam", "exchange"][i])
        .map((x) => x.id),
    ]);
    assert.deepEqual(rows, byGroup);
  });

  it("each finding's title says what its check checks", async () => {
    const r = await diagnose(healthy());
    assert.deepEqual(
      r.findings.map((x) => `${x.id}: ${x.title}`),
      [
        "issuer-url: issuer URL form",
        "discovery: discovery document reachable",
        "discovery-issuer: discovery issuer equals the URL",
        "jwks: JWKS reachable",
        "jwks-keys: keys STS can use",
        "issuer-thumbprint: certificate thumbprint",
        "cluster-issuer: API server's issuer is the published one",
        "service-account: ServiceAccount and its role",
        "cluster-keys: signing key is published",
        "cluster-token: a TokenRequest token verifies",
        "cluster-audiences: --api-audiences has the audience",
        "webhook-config: MutatingWebhookConfiguration",
        "webhook-tls: caBundle verifies the serving certificate",
        "webhook-dry-run: a dry-run pod gets credentials",
        "iam-provider: OIDC provider for the issuer",
        "iam-audience: provider lists the audience",
        "iam-thumbprint: provider thumbprint",
        "iam-role: the account's role exists",
        "iam-trust-policy: trust policy admits the account",
        "sts-exchange: AssumeRoleWithWebIdentity",
        "sts-caller-identity: GetCallerIdentity with the credentials",
      ],
    );
  });
});

describe("doctor: what each check waits for", () => {
  it("the serving certificate and the dry run are not checked when the webhook configuration failed", async () => {
    const r = await diagnose(webhook(healthy(), { webhooks: gathered(undefined) }));
    assert.equal(get(r, "webhook-tls")?.detail, "not checked: webhook-config failed");
    assert.equal(get(r, "webhook-dry-run")?.detail, "not checked: webhook-config failed");
  });

  it("without webhook facts the dry run gives the configuration's reason", async () => {
    const r = await diagnose({ ...healthy(), webhook: undefined, skipped: { webhook: "--no-webhook" } });
    assert.deepEqual(outcome(r, "webhook-dry-run"), { status: "skip", detail: "--no-webhook" });
  });

  it("the dry run is not checked when the account failed, nor after a serving certificate that failed", async () => {
    const r = await diagnose({ ...healthy(), roleArn: undefined });
    assert.equal(get(r, "webhook-dry-run")?.detail, "not checked: service-account failed");
    const t = await diagnose(webhook(healthy(), { serving: failed("ECONNREFUSED") }));
    assert.equal(get(t, "webhook-dry-run")?.detail, "not checked: webhook-tls failed");
  });

  it("the IAM provider is not looked at when the issuer URL failed, nor its audience and thumbprint when it failed", async () => {
    const r = await diagnose({ ...healthy(), issuer: "http://oidc.example.com/cluster-1" });
    assert.deepEqual(outcome(r, "iam-provider"), {
      status: "skip",
      detail: "not checked: issuer-url failed",
    });
    const p = await diagnose(iam(healthy(), { provider: failed("AccessDenied") }));
    assert.deepEqual(outcome(p, "iam-audience"), {
      status: "skip",
      detail: "not checked: iam-provider failed",
    });
    assert.deepEqual(outcome(p, "iam-thumbprint"), {
      status: "skip",
      detail: "not checked: iam-provider failed",
    });
  });

  it("the provider's thumbprint takes the issuer thumbprint's skip reason when the JWKS host sent no chain", async () => {
    const r = await diagnose({ ...healthy(), jwks: jwksWith({ thumbprint: undefined }) });
    const reason = "the server presented no certificate chain to take it from";
    assert.deepEqual(outcome(r, "issuer-thumbprint"), { status: "skip", detail: reason });
    assert.deepEqual(outcome(r, "iam-thumbprint"), { status: "skip", detail: reason });
  });

  it("the keys and the thumbprint are not checked when the JWKS could not be fetched", async () => {
    const r = await diagnose({ ...healthy(), jwks: fetchError("network", "connect ECONNREFUSED") });
    assert.equal(get(r, "jwks")?.status, "fail");
    assert.deepEqual(outcome(r, "jwks-keys"), { status: "skip", detail: "not checked: jwks failed" });
    assert.deepEqual(outcome(r, "issuer-thumbprint"), { status: "skip", detail: "not checked: jwks failed" });
  });

  it("GetCallerIdentity is not tried when the exchange failed", async () => {
    const r = await diagnose({ ...healthy(), exchange: { ...EXCHANGE, assumed: failed("AccessDenied") } });
    assert.equal(get(r, "sts-caller-identity")?.detail, "not checked: sts-exchange failed");
  });
});
