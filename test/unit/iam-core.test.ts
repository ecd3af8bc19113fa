import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  buildTrustPolicy,
  checkAccountId,
  checkPartition,
  checkPolicyArn,
  checkRoleName,
  checkThumbprint,
  iamIssuer,
  parseArn,
  parseServiceAccountRef,
  partitionOfRegion,
  planProvider,
  providerArn,
  type Partition,
} from "../../src/core/iam/index.js";
import { evaluateTrustPolicy, parseTrustPolicy } from "../../src/core/trust-policy/index.js";

const ISSUER = "oidc.example.com/c1";
const ACCOUNT = "111122223333";

/** The error's code and its text as a user reads it (message and hint). */
function refusal(fn: () => unknown): { code: string; text: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof IrsaError, String(e));
    return { code: e.code, text: e.describe() };
  }
  return { code: "ok", text: "" };
}

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

describe("arn.ts: partitions, ids, ARNs and issuers as IAM takes them", () => {
  it("a partition is one of aws, aws-cn, aws-us-gov; another is refused naming the three", () => {
    for (const p of ["aws", "aws-cn", "aws-us-gov"]) assert.equal(checkPartition(p), p);
    const r = refusal(() => checkPartition("aws-mars"));
    assert.equal(r.code, "INPUT_INVALID");
    assert.match(r.text, /partition "aws-mars" is not one of aws, aws-cn, aws-us-gov/);
  });

  it("an account id is exactly 12 digits, nothing before or after", () => {
    for (const bad of ["x111122223333", "1111222233334", "11112222333x", ""]) {
      const r = refusal(() => checkAccountId(bad));
      assert.equal(r.code, "ARN_INVALID", bad);
      assert.match(
        r.text,
        new RegExp(`account id "${bad}" is not 12 digits\n  hint: pass the AWS account id`),
      );
    }
  });

  it("parseArn splits partition, service, region, account, and a resource that may hold colons", () => {
    assert.deepEqual(parseArn("arn:aws-cn:s3:cn-north-1::bucket/a:b:c"), {
      partition: "aws-cn",
      service: "s3",
      region: "cn-north-1",
      account: "",
      resource: "bucket/a:b:c",
    });
    assert.equal(parseArn("arn:aws:iam::aws:policy/x").account, "aws");
    assert.equal(parseArn("arn:aws:sts::111122223333:assumed-role/r/s").service, "sts");
  });

  for (const [raw, why] of [
    ["arm:aws:iam::aws:policy/x", /it must have the form arn:partition:service:region:account:resource/],
    ["arn:aws:iam::aws", /it must have the form/],
    ["arn:aws-mars:iam::aws:policy/x", /unknown partition "aws-mars"/],
    ["arn:aws:IAM::aws:policy/x", /service "IAM" is not valid/],
    ["arn:aws:i_am::aws:policy/x", /service "i_am" is not valid/],
    ["arn:aws:::aws:policy/x", /service "" is not valid/],
    ["arn:aws:iam::x111122223333:policy/x", /account "x111122223333" is not 12 digits/],
    ["arn:aws:iam::1111222233334:policy/x", /account "1111222233334" is not 12 digits/],
    ["arn:aws:iam::aws:", /the resource is empty/],
  ] as const) {
    it(`parseArn refuses ${raw}, saying why and what an ARN looks like`, () => {
      const r = refusal(() => parseArn(raw));
      assert.equal(r.code, "ARN_INVALID");
      assert.ok(r.text.startsWith(`"${raw}" is not a valid ARN: `), r.text);
      assert.match(r.text, why);
      assert.match(r.text, /hint: an IAM policy ARN looks like arn:aws:iam::111122223333:policy\/name/);
    });
  }

  it("a policy ARN is IAM's, needs an account (12 digits or aws) and a policy/ resource of IAM's characters", () => {
    for (const bad of [
      "arn:aws:sts::aws:policy/x",
      "arn:aws:iam:::policy/x",
      "arn:aws:iam::aws:xpolicy/x",
      "arn:aws:iam::aws:policy/x y",
      "arn:aws:iam::aws:policy/",
    ]) {
      const r = refusal(() => checkPolicyArn(bad));
      assert.equal(r.code, "ARN_INVALID", bad);
      assert.match(r.text, new RegExp(`"${bad}" is not an IAM policy ARN\n  hint: pass arn:aws:iam::`));
    }
    assert.equal(
      checkPolicyArn("arn:aws:iam::aws:policy/a+b=c,d.e@f_g-h/i"),
      "arn:aws:iam::aws:policy/a+b=c,d.e@f_g-h/i",
    );
  });

  it("a role name is 1 to 64 of letters, digits and + = , . @ _ -", () => {
    assert.equal(checkRoleName("a+b=c,d.e@f_g-h"), "a+b=c,d.e@f_g-h");
    assert.equal(checkRoleName("r".repeat(64)), "r".repeat(64));
    for (const bad of ["", "r".repeat(65), "a/b", "a b", " a", "a "]) {
      const r = refusal(() => checkRoleName(bad));
      assert.equal(r.code, "INPUT_INVALID", bad);
      assert.match(r.text, /is not valid\n {2}hint: use 1 to 64 letters, digits or \+ = , \. @ _ -/);
    }
  });

  it("an issuer with an IPv6 host is taken; a port after it is refused, naming the flag", () => {
    assert.equal(iamIssuer("https://[::1]/c1"), "[::1]/c1");
    const r = refusal(() => iamIssuer("https://[::1]:8443/c1", "--public-issuer"));
    assert.equal(r.code, "URL_INVALID");
    assert.equal(
      r.text,
      'issuer URL "https://[::1]:8443/c1" has a port; IAM OIDC provider URLs may not\n  hint: serve the issuer on 443 and pass it without the port in --public-issuer',
    );
  });

  it("an issuer whose scheme is not in lower case is refused with the URL to pass instead", () => {
    const r = refusal(() => iamIssuer("HTTPS://oidc.example.com/c1", "--public-issuer"));
    assert.equal(r.code, "URL_INVALID");
    assert.equal(
      r.text,
      'issuer URL "HTTPS://oidc.example.com/c1" writes its scheme in capitals; IAM OIDC provider URLs begin with "https://" and IAM matches the issuer string exactly\n  hint: pass https://oidc.example.com/c1 in --public-issuer, as kube-apiserver\'s --service-account-issuer',
    );
    assert.equal(refusal(() => iamIssuer("hTTps://oidc.example.com")).code, "URL_INVALID");
  });

  it("an issuer ending in slashes is refused with the URL to pass instead", () => {
    const r = refusal(() => iamIssuer("https://oidc.example.com/c1//"));
    assert.equal(
      r.text,
      'issuer URL "https://oidc.example.com/c1//" ends with "/"; IAM matches the issuer string exactly\n  hint: pass https://oidc.example.com/c1 in --issuer, as kube-apiserver\'s --service-account-issuer',
    );
  });

  it("the partition of a region: cn-* is aws-cn, us-gov-* is aws-us-gov, any other or none is aws", () => {
    assert.equal(partitionOfRegion("cn-north-1"), "aws-cn");
    assert.equal(partitionOfRegion("us-gov-west-1"), "aws-us-gov");
    assert.equal(partitionOfRegion("us-east-1"), "aws");
    assert.equal(partitionOfRegion("eu-cn-1"), "aws");
    assert.equal(partitionOfRegion("x-us-gov-1"), "aws");
    assert.equal(partitionOfRegion(undefined), "aws");
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

describe("service account references: Kubernetes' name rules", () => {
  it("a namespace is a DNS label: 1 to 63 of a-z, 0-9 and inner hyphens", () => {
    for (const ns of ["a", "a-1", `a${"b".repeat(61)}c`]) {
      assert.deepEqual(parseServiceAccountRef(`${ns}/app`, false), { namespace: ns, name: "app" });
    }
    for (const ns of [`a${"b".repeat(62)}c`, "-ns", "ns-", "n.s", "xns!"]) {
      const r = refusal(() => parseServiceAccountRef(`${ns}/app`, false));
      assert.equal(
        r.text,
        `namespace "${ns}" in "${ns}/app" is not a valid Kubernetes namespace\n  hint: pass --service-account NAMESPACE/NAME, such as default/app`,
      );
    }
  });
  it("a name is a DNS subdomain: dotted labels of one character or more, 253 characters at most", () => {
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    assert.equal(long.length, 253);
    for (const name of ["a", "app.v2", "a-b.c-d", "a.b.c", long]) {
      assert.deepEqual(parseServiceAccountRef(`ns/${name}`, false), { namespace: "ns", name });
    }
    for (const name of [`${long}e`, "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b", "a_b"]) {
      const r = refusal(() => parseServiceAccountRef(`ns/${name}`, false));
      assert.equal(
        r.text,
        `name "${name}" in "ns/${name}" is not a valid service account name\n  hint: pass --service-account NAMESPACE/NAME, such as default/app`,
      );
    }
  });
  it("refusals say what was wrong and how to fix it", () => {
    assert.equal(
      refusal(() => parseServiceAccountRef("app", false)).text,
      'service account "app" is not NAMESPACE/NAME\n  hint: pass --service-account NAMESPACE/NAME, such as default/app',
    );
    assert.equal(
      refusal(() => parseServiceAccountRef("team/*", false)).text,
      '"team/*" admits every service account of namespace team\n  hint: name the accounts one by one, or pass --allow-namespace-wildcard if every account of the namespace may assume the role',
    );
  });
});

describe("buildTrustPolicy's document", () => {
  const input = { partition: "aws" as const, accountId: ACCOUNT, issuer: ISSUER };
  it("lists several accounts and audiences once each, in the order given", () => {
    const doc = buildTrustPolicy({
      ...input,
      serviceAccounts: [
        { namespace: "a", name: "x" },
        { namespace: "b", name: "y" },
        { namespace: "a", name: "x" },
      ],
      audiences: ["a1", "a2", "a1"],
    });
    assert.deepEqual(doc.Statement[0]?.Condition, {
      StringEquals: {
        [`${ISSUER}:sub`]: ["system:serviceaccount:a:x", "system:serviceaccount:b:y"],
        [`${ISSUER}:aud`]: ["a1", "a2"],
      },
    });
  });
  it("only wildcards: one NamespaceWildcard statement, each namespace once", () => {
    const doc = buildTrustPolicy({
      ...input,
      serviceAccounts: [
        { namespace: "a", name: "*" },
        { namespace: "a", name: "*" },
        { namespace: "b", name: "*" },
      ],
      audiences: ["a1"],
    });
    assert.deepEqual(doc, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "NamespaceWildcard",
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: { [`${ISSUER}:aud`]: "a1" },
            StringLike: { [`${ISSUER}:sub`]: ["system:serviceaccount:a:*", "system:serviceaccount:b:*"] },
          },
        },
      ],
    });
  });
  it("refusals name what is missing and the flag to pass", () => {
    assert.equal(
      refusal(() => buildTrustPolicy({ ...input, serviceAccounts: [], audiences: ["a"] })).text,
      "no service account given\n  hint: pass --service-account NAMESPACE/NAME",
    );
    for (const audiences of [[], ["a", ""]]) {
      const r = refusal(() =>
        buildTrustPolicy({ ...input, serviceAccounts: [{ namespace: "a", name: "b" }], audiences }),
      );
      assert.equal(r.text, "an audience is empty\n  hint: pass --audience, such as sts.amazonaws.com");
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
  it("a thumbprint is 40 hex digits, taken in lower case", () => {
    assert.equal(checkThumbprint(T1.toUpperCase()), T1);
    for (const bad of [`x${T1}`, `${T1}0`, T1.slice(1), "g".repeat(40)]) {
      const r = refusal(() => checkThumbprint(bad));
      assert.equal(r.code, "INPUT_INVALID", bad);
      assert.match(
        r.text,
        /is not 40 hex digits\n {2}hint: compute it with irsa iam thumbprint --issuer URL/,
      );
    }
  });
  it("creates with each client id and thumbprint once, thumbprints in lower case", () => {
    const p = planProvider(
      undefined,
      { clientIds: ["a", "b", "a"], thumbprints: [T1.toUpperCase(), T1, T2] },
      false,
    );
    assert.deepEqual(p, {
      create: true,
      addClientIds: ["a", "b"],
      removeClientIds: [],
      setThumbprints: [T1, T2],
      changed: true,
    });
  });
  it("a client id wanted twice is added once", () => {
    const p = planProvider(
      { clientIds: [], thumbprints: [T1] },
      { clientIds: ["b", "b"], thumbprints: [] },
      false,
    );
    assert.deepEqual(p.addClientIds, ["b"]);
    assert.equal(p.setThumbprints, undefined);
    assert.equal(p.changed, true);
  });
  it("a removal alone is a change", () => {
    const p = planProvider(
      { clientIds: ["a", "b"], thumbprints: [T1] },
      { clientIds: ["a"], thumbprints: [T1] },
      true,
    );
    assert.deepEqual(p.removeClientIds, ["b"]);
    assert.equal(p.setThumbprints, undefined);
    assert.equal(p.changed, true);
  });
  it("--prune without thumbprints given keeps the provider's", () => {
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1, T2] },
      { clientIds: ["a"], thumbprints: [] },
      true,
    );
    assert.equal(p.setThumbprints, undefined);
    assert.equal(p.changed, false);
  });
  it("--prune with the same thumbprints in another order changes nothing", () => {
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1, T2] },
      { clientIds: ["a"], thumbprints: [T2, T1] },
      true,
    );
    assert.equal(p.setThumbprints, undefined);
    assert.equal(p.changed, false);
  });
  it("--prune to a subset of the thumbprints sets the smaller list", () => {
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1, T2] },
      { clientIds: ["a"], thumbprints: [T1] },
      true,
    );
    assert.deepEqual(p.setThumbprints, [T1]);
  });
  it("--prune to a list as long as the provider's but different sets it", () => {
    const T3 = "c".repeat(40);
    const p = planProvider(
      { clientIds: ["a"], thumbprints: [T1, T2] },
      { clientIds: ["a"], thumbprints: [T1, T3] },
      true,
    );
    assert.deepEqual(p.setThumbprints, [T1, T3]);
    assert.equal(p.changed, true);
  });
  it("refuses more than 5 thumbprints, pointing at --prune; 5 is allowed", () => {
    const tps = ["1", "2", "3", "4", "5", "6"].map((c) => c.repeat(40));
    const five = planProvider(
      { clientIds: ["a"], thumbprints: tps.slice(0, 4) },
      { clientIds: ["a"], thumbprints: [tps[4] ?? ""] },
      false,
    );
    assert.equal(five.setThumbprints?.length, 5);
    const r = refusal(() =>
      planProvider(
        { clientIds: ["a"], thumbprints: tps.slice(0, 5) },
        { clientIds: ["a"], thumbprints: [tps[5] ?? ""] },
        false,
      ),
    );
    assert.equal(r.code, "INPUT_INVALID");
    assert.match(r.text, /at most 5 thumbprints; this would make 6\n {2}hint: pass --prune/);
    assert.equal(
      planProvider(
        { clientIds: ["a"], thumbprints: tps.slice(0, 5) },
        { clientIds: ["a"], thumbprints: [tps[5] ?? ""] },
        true,
      ).setThumbprints?.length,
      1,
    );
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
