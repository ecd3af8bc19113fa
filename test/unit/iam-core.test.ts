import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  buildTrustPolicy,
  checkAccountId,
  checkPolicyArn,
  iamIssuer,
  parseServiceAccountRef,
  planProvider,
  providerArn,
  type Partition,
} from "../../src/core/iam/index.js";
import { evaluateTrustPolicy, parseTrustPolicy } from "../../src/core/trust-policy/index.js";

const ISSUER = "oidc.example.com/c1";
const ACCOUNT = "111122223333";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof IrsaError, String(e));
    return e.code;
  }
  return "ok";
}

describe("iamIssuer", () => {
  for (const [url, want] of [
    ["https://oidc.example.com/c1", "oidc.example.com/c1"],
    ["https://oidc.example.com", "oidc.example.com"],
    ["http://oidc.example.com/c1", "URL_NOT_HTTPS"],
    ["https://oidc.example.com:8443/c1", "URL_INVALID"],
    ["https://oidc.example.com:443/c1", "URL_INVALID"],
    ["https://oidc.example.com/c1/", "URL_INVALID"],
    ["https://oidc.example.com/c1?x=1", "URL_HAS_QUERY"],
  ] as const) {
    it(`${url} -> ${want}`, () => {
      let got: string;
      try {
        got = iamIssuer(url);
      } catch (e) {
        got = (e as IrsaError).code;
      }
      assert.equal(got, want);
    });
  }
});

describe("ARNs and account ids", () => {
  it("account ids are 12 digits", () => {
    assert.equal(checkAccountId(ACCOUNT), ACCOUNT);
    assert.equal(
      code(() => checkAccountId("11112222333")),
      "ARN_INVALID",
    );
    assert.equal(
      code(() => checkAccountId("11112222333x")),
      "ARN_INVALID",
    );
  });
  it("policy ARNs", () => {
    for (const ok of [
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "arn:aws:iam::111122223333:policy/team/app-read",
      "arn:aws-cn:iam::111122223333:policy/x",
      "arn:aws-us-gov:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ]) {
      assert.equal(checkPolicyArn(ok), ok);
    }
    for (const bad of [
      "ReadOnlyAccess",
      "arn:aws:iam::aws:role/x",
      "arn:aws:s3:::bucket",
      "arn:aws:iam::12:policy/x",
      "arn:aws-mars:iam::aws:policy/x",
      "arn:aws:iam:us-east-1:aws:policy/x",
    ]) {
      assert.equal(
        code(() => checkPolicyArn(bad)),
        "ARN_INVALID",
        bad,
      );
    }
  });
  it("provider ARNs per partition", () => {
    for (const p of ["aws", "aws-cn", "aws-us-gov"] as Partition[]) {
      assert.equal(providerArn(p, ACCOUNT, ISSUER), `arn:${p}:iam::${ACCOUNT}:oidc-provider/${ISSUER}`);
    }
  });
});

describe("service account references", () => {
  it("NS/NAME, and NS/* only with the wildcard flag", () => {
    assert.deepEqual(parseServiceAccountRef("ns/app", false), { namespace: "ns", name: "app" });
    assert.equal(
      code(() => parseServiceAccountRef("ns/*", false)),
      "INPUT_INVALID",
    );
    assert.deepEqual(parseServiceAccountRef("ns/*", true), { namespace: "ns", name: "*" });
    for (const bad of ["app", "ns/", "/app", "ns/a/b", "NS/app", "ns/App", "*/app", "ns/app*"]) {
      assert.equal(
        code(() => parseServiceAccountRef(bad, true)),
        "INPUT_INVALID",
        bad,
      );
    }
  });
});

describe("buildTrustPolicy, evaluated as STS does", () => {
  function decide(doc: unknown, partition: Partition, sub: string, aud: string, issuer = ISSUER): boolean {
    const r = evaluateTrustPolicy(parseTrustPolicy(doc), {
      principalType: "Federated",
      principalId: providerArn(partition, ACCOUNT, issuer),
      action: "sts:AssumeRoleWithWebIdentity",
      context: { [`${issuer}:sub`]: [sub], [`${issuer}:aud`]: [aud] },
    });
    return r.allowed;
  }
  const sa = (ns: string, name: string): string => `system:serviceaccount:${ns}:${name}`;

  it("uses StringEquals on sub and aud, with the provider as the only principal", () => {
    const doc = buildTrustPolicy({
      partition: "aws",
      accountId: ACCOUNT,
      issuer: ISSUER,
      serviceAccounts: [{ namespace: "team", name: "app" }],
      audiences: ["sts.amazonaws.com"],
    });
    assert.deepEqual(doc, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ServiceAccounts",
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              [`${ISSUER}:sub`]: "system:serviceaccount:team:app",
              [`${ISSUER}:aud`]: "sts.amazonaws.com",
            },
          },
        },
      ],
    });
  });

  const cases: { name: string; sub: string; aud: string; want: boolean }[] = [
    { name: "the first account", sub: sa("team", "app"), aud: "sts.amazonaws.com", want: true },
    { name: "the second account", sub: sa("team", "worker"), aud: "sts.amazonaws.com", want: true },
    { name: "the second audience", sub: sa("team", "app"), aud: "other-aud", want: true },
    { name: "another namespace", sub: sa("other", "app"), aud: "sts.amazonaws.com", want: false },
    {
      name: "a name that starts with the allowed one",
      sub: sa("team", "app-admin"),
      aud: "sts.amazonaws.com",
      want: false,
    },
    {
      name: "a name that the allowed one starts with",
      sub: sa("team", "ap"),
      aud: "sts.amazonaws.com",
      want: false,
    },
    { name: "another audience", sub: sa("team", "app"), aud: "sts.amazonaws.com.evil", want: false },
    { name: "a wildcard not asked for", sub: sa("team", "*"), aud: "sts.amazonaws.com", want: false },
    {
      name: "another account of the namespace",
      sub: sa("team", "db"),
      aud: "sts.amazonaws.com",
      want: false,
    },
    {
      name: "the wildcard namespace, any account",
      sub: sa("batch", "job-1"),
      aud: "sts.amazonaws.com",
      want: true,
    },
    { name: "the wildcard namespace, another audience", sub: sa("batch", "job-1"), aud: "x", want: false },
    {
      name: "a namespace that starts with the wildcard one",
      sub: sa("batch2", "job"),
      aud: "sts.amazonaws.com",
      want: false,
    },
    { name: "not a service account", sub: "system:node:batch", aud: "sts.amazonaws.com", want: false },
  ];
  for (const partition of ["aws", "aws-cn", "aws-us-gov"] as Partition[]) {
    const doc = buildTrustPolicy({
      partition,
      accountId: ACCOUNT,
      issuer: ISSUER,
      serviceAccounts: [
        { namespace: "team", name: "app" },
        { namespace: "team", name: "worker" },
        { namespace: "batch", name: "*" },
      ],
      audiences: ["sts.amazonaws.com", "other-aud"],
    });
    for (const c of cases) {
      it(`${partition}: ${c.name} -> ${c.want ? "allowed" : "denied"}`, () => {
        assert.equal(decide(doc, partition, c.sub, c.aud), c.want);
      });
    }
    it(`${partition}: another partition's provider is denied`, () => {
      const other: Partition = partition === "aws" ? "aws-cn" : "aws";
      assert.equal(decide(doc, other, sa("team", "app"), "sts.amazonaws.com"), false);
    });
  }

  it("StringLike only in the wildcard statement", () => {
    const doc = buildTrustPolicy({
      partition: "aws",
      accountId: ACCOUNT,
      issuer: ISSUER,
      serviceAccounts: [
        { namespace: "team", name: "app" },
        { namespace: "batch", name: "*" },
      ],
      audiences: ["sts.amazonaws.com"],
    });
    const [exact, wild] = doc.Statement;
    assert.deepEqual(Object.keys(exact?.Condition ?? {}), ["StringEquals"]);
    assert.deepEqual(wild?.Condition["StringLike"], { [`${ISSUER}:sub`]: sa("batch", "*") });
  });

  it("refuses no accounts or an empty audience", () => {
    const base = { partition: "aws" as const, accountId: ACCOUNT, issuer: ISSUER };
    assert.equal(
      code(() => buildTrustPolicy({ ...base, serviceAccounts: [], audiences: ["a"] })),
      "INPUT_INVALID",
    );
    assert.equal(
      code(() =>
        buildTrustPolicy({ ...base, serviceAccounts: [{ namespace: "a", name: "b" }], audiences: [""] }),
      ),
      "INPUT_INVALID",
    );
  });
});

describe("planProvider", () => {
  const T1 = "a".repeat(40);
  const T2 = "b".repeat(40);
  it("creates when absent", () => {
    const p = planProvider(undefined, { clientIds: ["sts.amazonaws.com"], thumbprints: [T1] }, false);
    assert.equal(p.create, true);
    assert.deepEqual(p.addClientIds, ["sts.amazonaws.com"]);
  });
  it("changes nothing when all is there", () => {
    const p = planProvider(
      { clientIds: ["a", "b"], thumbprints: [T1, T2] },
      { clientIds: ["a"], thumbprints: [T2] },
      false,
    );
    assert.equal(p.changed, false);
  });
  it("adds, and keeps what others rely on without --prune", () => {
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1] },
      { clientIds: ["b"], thumbprints: [T2] },
      false,
    );
    assert.deepEqual(p.addClientIds, ["b"]);
    assert.deepEqual(p.removeClientIds, []);
    assert.deepEqual(p.setThumbprints, [T1, T2]);
  });
  it("removes with --prune", () => {
    const p = planProvider(
      { clientIds: ["a", "b"], thumbprints: [T1, T2] },
      { clientIds: ["b"], thumbprints: [T2] },
      true,
    );
    assert.deepEqual(p.addClientIds, []);
    assert.deepEqual(p.removeClientIds, ["a"]);
    assert.deepEqual(p.setThumbprints, [T2]);
  });
  it("thumbprints compare without case", () => {
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1.toUpperCase()] },
      { clientIds: ["a"], thumbprints: [T1] },
      false,
    );
    assert.equal(p.changed, false);
  });
});
