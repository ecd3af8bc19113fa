/**
 * Doctor's pure checks, one table row per broken link: facts in, findings out. The token, keys and
 * trust policy are real (signed with jose, verified by the STS's own checks); no peer runs here
 * (test/e2e/doctor.test.ts breaks the same links on real ones).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diagnose } from "../../src/core/doctor/diagnose.js";
import { gathered, failed, type DoctorFacts, type Fetch } from "../../src/core/doctor/facts.js";
import { formatJson, formatText, REPORT_SCHEMA, type Report } from "../../src/core/doctor/report.js";
import { parseTrustPolicy } from "../../src/core/trust-policy/policy.js";
import { validate } from "../support/json-schema.js";
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

function doc(
  body: string,
  extra: Partial<{ contentType: string; elapsedMs: number; trust: "public" | "ca-file" }> = {},
): Fetch {
  return {
    ok: true,
    value: {
      url: ISSUER,
      status: 200,
      contentType: "application/json",
      body,
      elapsedMs: 12,
      trust: "public" as const,
      thumbprint: "ab".repeat(20),
      ...extra,
    },
  };
}

const discoveryBody = (issuer = ISSUER) => JSON.stringify({ issuer, jwks_uri: `${ISSUER}/openid/v1/jwks` });

function healthy(): DoctorFacts {
  return {
    now: NOW,
    issuer: ISSUER,
    issuerSource: "--issuer",
    caFile: undefined,
    audience: AUD,
    roleArn: ROLE_ARN,
    roleAnnotation: "eks.amazonaws.com/role-arn",
    serviceAccount: { namespace: "team-a", name: "app" },
    discovery: doc(discoveryBody()),
    jwks: doc(jwksOf(key), { contentType: "application/jwk-set+json" }),
    cluster: {
      server: "https://127.0.0.1:6443",
      discovery: gathered(discoveryBody()),
      jwks: gathered(jwksOf(key)),
      serviceAccount: gathered({
        namespace: "team-a",
        name: "app",
        annotations: { "eks.amazonaws.com/role-arn": ROLE_ARN },
      }),
      token: gathered(TOKEN),
      review: gathered({ authenticated: true, error: undefined }),
    },
    webhook: {
      configuration: "pod-identity-webhook",
      webhooks: gathered([
        {
          name: "pod-identity-webhook.amazonaws.com",
          url: "https://127.0.0.1:9443/mutate",
          service: undefined,
          caBundle: "Q0E=",
          failurePolicy: "Ignore",
          podsCreate: true,
        },
      ]),
      serving: gathered({
        verified: true,
        verifyError: undefined,
        subject: "CN=webhook",
        notBefore: NOW - 60,
        notAfter: NOW + 30 * 86_400,
      }),
      dryRun: gathered({
        containers: [
          {
            name: "app",
            env: {
              AWS_ROLE_ARN: ROLE_ARN,
              AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            },
          },
        ],
        volumes: ["aws-iam-token"],
      }),
    },
    iam: {
      source: "AWS",
      stsConfigFile: undefined,
      providerArn: PROVIDER_ARN,
      provider: gathered({ clientIds: [AUD], thumbprints: [] }),
      nearProviderArn: undefined,
      role: gathered({ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, maxSessionDuration: 3600 }),
    },
    exchange: {
      endpoint: "http://127.0.0.1:8080",
      assumed: gathered({
        assumedRoleArn: "arn:aws:sts::111122223333:assumed-role/app/irsa-doctor",
        expiration: "2026-12-02T09:00:00Z",
      }),
      caller: gathered({
        arn: "arn:aws:sts::111122223333:assumed-role/app/irsa-doctor",
        account: "111122223333",
      }),
    },
    skipped: {},
  };
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
