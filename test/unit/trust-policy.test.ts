import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  evaluateTrustPolicy,
  iamGlob,
  parseTrustPolicy,
  type Decision,
  type PolicyRequest,
} from "../../src/core/trust-policy/index.js";

const P = "oidc.example.com/c1";
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${P}`;
const ACTION = "sts:AssumeRoleWithWebIdentity";

function req(context: Record<string, string[]>, principalId = PROVIDER, action = ACTION): PolicyRequest {
  return { principalType: "Federated", principalId, action, context };
}

function allow(condition?: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Sid: "Allow",
    Effect: "Allow",
    Principal: { Federated: PROVIDER },
    Action: ACTION,
    ...(condition === undefined ? {} : { Condition: condition }),
    ...extra,
  };
}

function policy(...statements: unknown[]): unknown {
  return { Version: "2012-10-17", Statement: statements };
}

const SUB = `${P}:sub`;
const base = { [SUB]: ["system:serviceaccount:team-a:app"], [`${P}:aud`]: ["sts.amazonaws.com"] };

describe("evaluateTrustPolicy: IAM's condition operators", () => {
  const cases: [string, unknown, Record<string, string[]>, Decision][] = [
    [
      "StringEquals matches exactly",
      { StringEquals: { [SUB]: "system:serviceaccount:team-a:app" } },
      base,
      "Allow",
    ],
    [
      "StringEquals is case-sensitive in values",
      { StringEquals: { [SUB]: "system:serviceaccount:TEAM-A:app" } },
      base,
      "ImplicitDeny",
    ],
    [
      "condition key names ignore case",
      { StringEquals: { [SUB.toUpperCase()]: "system:serviceaccount:team-a:app" } },
      base,
      "Allow",
    ],
    [
      "several values for one key are OR",
      { StringEquals: { [SUB]: ["x", "system:serviceaccount:team-a:app"] } },
      base,
      "Allow",
    ],
    [
      "several keys are AND",
      { StringEquals: { [SUB]: "system:serviceaccount:team-a:app", [`${P}:aud`]: "other" } },
      base,
      "ImplicitDeny",
    ],
    [
      "StringEqualsIgnoreCase",
      { StringEqualsIgnoreCase: { [SUB]: "SYSTEM:serviceaccount:TEAM-A:app" } },
      base,
      "Allow",
    ],
    ["StringLike with *", { StringLike: { [SUB]: "system:serviceaccount:team-a:*" } }, base, "Allow"],
    ["StringLike with ?", { StringLike: { [SUB]: "system:serviceaccount:team-?:app" } }, base, "Allow"],
    [
      "StringLike is anchored: a prefix is not a match",
      { StringLike: { [SUB]: "system:serviceaccount:team-a" } },
      base,
      "ImplicitDeny",
    ],
    [
      "StringEquals on a sub that only starts with the allowed one",
      { StringEquals: { [SUB]: "system:serviceaccount:team-a:ap" } },
      base,
      "ImplicitDeny",
    ],
    [
      "StringLike's * is not a regex (a dot is literal)",
      { StringLike: { [SUB]: "system.serviceaccount*" } },
      base,
      "ImplicitDeny",
    ],
    ["StringNotEquals: the value matches none", { StringNotEquals: { [SUB]: ["a", "b"] } }, base, "Allow"],
    [
      "StringNotEquals: the value matches one",
      { StringNotEquals: { [SUB]: ["a", "system:serviceaccount:team-a:app"] } },
      base,
      "ImplicitDeny",
    ],
    ["StringNotLike", { StringNotLike: { [SUB]: "system:serviceaccount:kube-system:*" } }, base, "Allow"],
    [
      "a missing key fails a positive operator",
      { StringEquals: { [`${P}:azp`]: "x" } },
      base,
      "ImplicitDeny",
    ],
    ["a missing key passes a negated operator", { StringNotEquals: { [`${P}:azp`]: "x" } }, base, "Allow"],
    ["...IfExists on a missing key matches", { StringEqualsIfExists: { [`${P}:azp`]: "x" } }, base, "Allow"],
    [
      "...IfExists on a present key still compares",
      { StringEqualsIfExists: { [SUB]: "x" } },
      base,
      "ImplicitDeny",
    ],
    ["Null true: the key is absent", { Null: { [`${P}:azp`]: "true" } }, base, "Allow"],
    ["Null true on a present key", { Null: { [SUB]: "true" } }, base, "ImplicitDeny"],
    ["Null false: the key is present", { Null: { [SUB]: "false" } }, base, "Allow"],
    ["Null takes a JSON boolean as IAM does", { Null: { [SUB]: false } }, base, "Allow"],
    [
      "ForAnyValue on a missing key is false",
      { "ForAnyValue:StringEquals": { [`${P}:amr`]: "mfa" } },
      base,
      "ImplicitDeny",
    ],
    [
      "ForAnyValue: one of several values",
      { "ForAnyValue:StringEquals": { [`${P}:amr`]: "mfa" } },
      { ...base, [`${P}:amr`]: ["pwd", "mfa"] },
      "Allow",
    ],
    [
      "ForAllValues on a missing key is true",
      { "ForAllValues:StringEquals": { [`${P}:amr`]: "mfa" } },
      base,
      "Allow",
    ],
    [
      "ForAllValues: every value must be allowed",
      { "ForAllValues:StringEquals": { [`${P}:amr`]: ["mfa"] } },
      { ...base, [`${P}:amr`]: ["pwd", "mfa"] },
      "ImplicitDeny",
    ],
    [
      "ForAllValues: all allowed",
      { "ForAllValues:StringLike": { [`${P}:amr`]: ["mfa", "p*"] } },
      { ...base, [`${P}:amr`]: ["pwd", "mfa"] },
      "Allow",
    ],
    [
      "ForAnyValue:StringNotEquals",
      { "ForAnyValue:StringNotEquals": { [`${P}:amr`]: "pwd" } },
      { ...base, [`${P}:amr`]: ["pwd", "mfa"] },
      "Allow",
    ],
    [
      "Bool compares true/false ignoring case",
      { Bool: { "aws:SecureTransport": "TRUE" } },
      { ...base, "aws:SecureTransport": ["true"] },
      "Allow",
    ],
    [
      "sts:RoleSessionName",
      { StringLike: { "sts:RoleSessionName": "ci-*" } },
      { ...base, "sts:RoleSessionName": ["ci-42"] },
      "Allow",
    ],
    ["numbers in condition values are strings", { StringEquals: { "x:n": 5 } }, { "x:n": ["5"] }, "Allow"],
  ];
  for (const [title, condition, ctx, want] of cases) {
    it(title, () => {
      const d = evaluateTrustPolicy(parseTrustPolicy(policy(allow(condition))), req(ctx));
      assert.equal(d.decision, want, d.reason);
      assert.equal(d.allowed, want === "Allow");
      if (want === "Allow") assert.equal(d.deciding?.name, 'Statement[0] (Sid "Allow")');
      else assert.equal(d.deciding, undefined);
    });
  }
});

describe("evaluateTrustPolicy: statements, principals, actions", () => {
  it("an explicit Deny wins over an Allow, and is named as the deciding statement", () => {
    const p = parseTrustPolicy(
      policy(allow(), {
        Sid: "NoKubeSystem",
        Effect: "Deny",
        Principal: "*",
        Action: "sts:*",
        Condition: { StringLike: { [SUB]: "system:serviceaccount:team-a:*" } },
      }),
    );
    const d = evaluateTrustPolicy(p, req(base));
    assert.equal(d.decision, "ExplicitDeny");
    assert.equal(d.deciding?.name, 'Statement[1] (Sid "NoKubeSystem")');
    assert.match(d.reason, /explicit Deny wins/);
    assert.equal(d.statements[0]?.applies, true, "the Allow applied too");
  });

  it("a Deny whose condition does not match does not deny", () => {
    const p = parseTrustPolicy(
      policy(allow(), {
        Effect: "Deny",
        Principal: "*",
        Action: "*",
        Condition: { StringEquals: { [SUB]: "other" } },
      }),
    );
    assert.equal(evaluateTrustPolicy(p, req(base)).decision, "Allow");
  });

  it("another provider's ARN is not this principal", () => {
    const d = evaluateTrustPolicy(parseTrustPolicy(policy(allow())), req(base, `${PROVIDER}/`));
    assert.equal(d.decision, "ImplicitDeny");
    assert.match(d.reason, /Principal does not name Federated/);
  });

  it('Principal "*" and {"AWS": "*"} match anyone', () => {
    for (const principal of ["*", { AWS: "*" }]) {
      const d = evaluateTrustPolicy(
        parseTrustPolicy(policy(allow(undefined, { Principal: principal }))),
        req(base),
      );
      assert.equal(d.decision, "Allow");
    }
  });

  it("Action: wildcards and case as IAM (sts:*, sts:AssumeRole*, STS:assumerolewithwebidentity)", () => {
    for (const action of [
      "sts:*",
      "sts:AssumeRole*",
      "STS:assumerolewithwebidentity",
      "*",
      ["sts:AssumeRole", "sts:AssumeRoleWith?ebIdentity"],
    ]) {
      const d = evaluateTrustPolicy(
        parseTrustPolicy(policy(allow(undefined, { Action: action }))),
        req(base),
      );
      assert.equal(d.decision, "Allow", JSON.stringify(action));
    }
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow(undefined, { Action: "sts:AssumeRole" }))),
      req(base),
    );
    assert.equal(d.decision, "ImplicitDeny");
    assert.match(d.reason, /Action does not cover/);
  });

  it("NotAction applies to every other action", () => {
    const p = (na: string): unknown =>
      policy({ Effect: "Allow", Principal: { Federated: PROVIDER }, NotAction: na });
    assert.equal(evaluateTrustPolicy(parseTrustPolicy(p("sts:AssumeRole")), req(base)).decision, "Allow");
    assert.equal(evaluateTrustPolicy(parseTrustPolicy(p("sts:*")), req(base)).decision, "ImplicitDeny");
  });

  it("no Allow statement is an implicit deny with every statement's reason", () => {
    const p = parseTrustPolicy(
      policy(allow({ StringEquals: { [SUB]: "system:serviceaccount:team-b:app" } })),
    );
    const d = evaluateTrustPolicy(p, req(base));
    assert.equal(d.decision, "ImplicitDeny");
    assert.match(
      d.reason,
      /Statement\[0\] \(Sid "Allow"\) does not apply: condition StringEquals: oidc\.example\.com\/c1:sub is "system:serviceaccount:team-a:app": StringEquals "system:serviceaccount:team-b:app" does not match/,
    );
  });

  it("a single Statement object (not a list) is accepted, as IAM does", () => {
    const d = evaluateTrustPolicy(parseTrustPolicy({ Version: "2012-10-17", Statement: allow() }), req(base));
    assert.equal(d.decision, "Allow");
    assert.equal(d.deciding?.index, 0);
  });
});

describe("iamGlob", () => {
  const cases: [string, string, boolean][] = [
    ["a*", "abc", true],
    ["a*", "a", true],
    ["*c", "abc", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["a.c", "abc", false],
    ["(a)+", "(a)+", true],
    ["${*}", "*", true],
    ["${*}", "x", false],
    ["a${?}", "a?", true],
    ["${$}x", "$x", true],
    ["*", "line\nbreak", true],
  ];
  for (const [p, t, want] of cases) {
    it(`${JSON.stringify(p)} ${want ? "matches" : "does not match"} ${JSON.stringify(t)}`, () => {
      assert.equal(iamGlob(p, t), want);
    });
  }
});

describe("parseTrustPolicy refuses what IAM refuses, naming the path", () => {
  const bad: [string, unknown, RegExp][] = [
    ["not JSON", "{", /not valid JSON/],
    ["no Statement", { Version: "2012-10-17" }, /Statement: required/],
    ["a bad Version", { Version: "2013-01-01", Statement: [allow()] }, /Version: must be "2012-10-17"/],
    [
      "a bad Effect",
      policy(allow(undefined, { Effect: "allow" })),
      /Statement\[0\]\.Effect: must be "Allow" or "Deny"/,
    ],
    [
      "an unknown operator",
      policy(allow({ StringEqualz: { a: "b" } })),
      /Statement\[0\]\.Condition\.StringEqualz: unsupported condition operator/,
    ],
    ["NullIfExists", policy(allow({ NullIfExists: { a: "true" } })), /unsupported condition operator/],
    ["Null with a non-boolean", policy(allow({ Null: { a: "yes" } })), /Null takes "true" or "false"/],
    [
      "a condition value object",
      policy(allow({ StringEquals: { a: { b: 1 } } })),
      /expected a string, got an object/,
    ],
    ["no Principal", policy({ Effect: "Allow", Action: ACTION }), /needs a Principal/],
    [
      "NotPrincipal",
      policy(allow(undefined, { NotPrincipal: { AWS: "x" } })),
      /NotPrincipal: is not supported/,
    ],
    [
      "both Action and NotAction",
      policy(allow(undefined, { NotAction: "x" })),
      /exactly one of Action and NotAction/,
    ],
    ["a Resource", policy(allow(undefined, { Resource: "*" })), /no Resource/],
    ["an empty Statement list", policy(), /Statement: must not be empty/],
    ["an empty value list", policy(allow({ StringEquals: { a: [] } })), /must not be an empty list/],
    [
      "an unknown element",
      policy(allow(undefined, { Effectt: "Allow" })),
      /Statement\[0\]\.Effectt: unknown statement element/,
    ],
  ];
  for (const [title, doc, re] of bad) {
    it(title, () => {
      assert.throws(
        () => parseTrustPolicy(doc),
        (e: unknown) => e instanceof IrsaError && e.code === "POLICY_INVALID" && re.test(e.message),
      );
    });
  }
});
