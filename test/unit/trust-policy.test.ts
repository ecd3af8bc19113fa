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
    [
      "no Principal",
      policy({ Effect: "Allow", Action: ACTION }),
      /Statement\[0\]\.Principal: a trust policy statement needs a Principal/,
    ],
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

/** The one condition's result of a one-statement policy, for reasons and edge cases. */
function conditionResult(condition: unknown, ctx: PolicyRequest["context"]) {
  const d = evaluateTrustPolicy(parseTrustPolicy(policy(allow(condition))), {
    principalType: "Federated",
    principalId: PROVIDER,
    action: ACTION,
    context: ctx,
  });
  const [c] = d.statements[0]?.conditions ?? [];
  assert.ok(c);
  return c;
}

describe("evaluateTrustPolicy: every condition result says why", () => {
  const AMR = `${P}:amr`;
  const cases: [string, unknown, Record<string, string[]>, boolean, string][] = [
    ["Null on an absent key", { Null: { [AMR]: "true" } }, base, true, `${AMR} is absent`],
    ["Null on a present key", { Null: { [SUB]: "true" } }, base, false, `${SUB} is present`],
    [
      "Null on a key whose value list is empty: absent",
      { Null: { [AMR]: "true" } },
      { ...base, [AMR]: [] },
      true,
      `${AMR} is absent`,
    ],
    [
      "...IfExists on an absent key",
      { StringEqualsIfExists: { [AMR]: "x" } },
      base,
      true,
      `${AMR} is absent, and ...IfExists makes an absent key match`,
    ],
    [
      "ForAnyValue:...IfExists on an absent key: IfExists wins",
      { "ForAnyValue:StringEqualsIfExists": { [AMR]: "x" } },
      base,
      true,
      `${AMR} is absent, and ...IfExists makes an absent key match`,
    ],
    [
      "ForAllValues on an absent key",
      { "ForAllValues:StringEquals": { [AMR]: "x" } },
      base,
      true,
      `${AMR} is absent, and ForAllValues: is true for an absent or empty key`,
    ],
    [
      "ForAllValues with a negated operator on an empty key",
      { "ForAllValues:StringNotEquals": { [AMR]: "x" } },
      { ...base, [AMR]: [] },
      true,
      `${AMR} is absent, and ForAllValues: is true for an absent or empty key`,
    ],
    [
      "ForAnyValue on an empty key",
      { "ForAnyValue:StringEquals": { [AMR]: "x" } },
      { ...base, [AMR]: [] },
      false,
      `${AMR} is absent, and ForAnyValue: is false for an absent or empty key`,
    ],
    [
      "ForAnyValue with a negated operator on an absent key",
      { "ForAnyValue:StringNotEquals": { [AMR]: "x" } },
      base,
      false,
      `${AMR} is absent, and ForAnyValue: is false for an absent or empty key`,
    ],
    [
      "a negated operator on an absent key",
      { StringNotLike: { [AMR]: "x" } },
      base,
      true,
      `${AMR} is absent, and a negated operator matches an absent key`,
    ],
    [
      "a positive operator on an empty key",
      { StringEquals: { [AMR]: "x" } },
      { ...base, [AMR]: [] },
      false,
      `${AMR} is absent, so the condition does not match`,
    ],
    [
      "one value against one policy value",
      { StringEquals: { [SUB]: "system:serviceaccount:team-a:app" } },
      base,
      true,
      `${SUB} is "system:serviceaccount:team-a:app": StringEquals "system:serviceaccount:team-a:app" matches`,
    ],
    [
      "several values against several policy values",
      { "ForAnyValue:StringLike": { [AMR]: ["mfa", "otp*"] } },
      { ...base, [AMR]: ["pwd", "sms"] },
      false,
      `${AMR} is ["pwd","sms"]: ForAnyValue:StringLike one of ["mfa","otp*"] does not match`,
    ],
  ];
  for (const [title, condition, ctx, ok, reason] of cases) {
    it(title, () => {
      const c = conditionResult(condition, ctx);
      assert.equal(c.ok, ok);
      assert.equal(c.reason, reason);
    });
  }

  it("a result carries the operator as written, the key, the policy's values and the request's", () => {
    const c = conditionResult({ "ForAnyValue:StringLikeIfExists": { [SUB]: ["x", "system:*"] } }, base);
    assert.deepEqual(
      { operator: c.operator, key: c.key, values: c.values, actual: c.actual, ok: c.ok },
      {
        operator: "ForAnyValue:StringLikeIfExists",
        key: SUB,
        values: ["x", "system:*"],
        actual: ["system:serviceaccount:team-a:app"],
        ok: true,
      },
    );
    assert.equal(conditionResult({ StringEquals: { [`${P}:azp`]: "x" } }, base).actual, undefined);
  });
});

describe("evaluateTrustPolicy: multi-valued keys without ForAnyValue/ForAllValues", () => {
  const AMR = `${P}:amr`;
  const ctx = { ...base, [AMR]: ["pwd", "mfa"] };
  it("a positive operator matches when any value matches", () => {
    assert.equal(conditionResult({ StringEquals: { [AMR]: "mfa" } }, ctx).ok, true);
    assert.equal(conditionResult({ StringEquals: { [AMR]: "otp" } }, ctx).ok, false);
  });
  it("a negated operator matches only when no value matches (never grants more than either reading)", () => {
    assert.equal(conditionResult({ StringNotEquals: { [AMR]: "mfa" } }, ctx).ok, false);
    assert.equal(conditionResult({ StringNotEquals: { [AMR]: "otp" } }, ctx).ok, true);
  });
  it("ForAnyValue with a negated operator: some value matches none of the policy values", () => {
    assert.equal(
      conditionResult({ "ForAnyValue:StringNotEquals": { [AMR]: ["pwd", "mfa"] } }, ctx).ok,
      false,
    );
    assert.equal(conditionResult({ "ForAnyValue:StringNotEquals": { [AMR]: "pwd" } }, ctx).ok, true);
  });
  it("ForAllValues with a negated operator: every value matches none of the policy values", () => {
    assert.equal(conditionResult({ "ForAllValues:StringNotLike": { [AMR]: "otp*" } }, ctx).ok, true);
    assert.equal(conditionResult({ "ForAllValues:StringNotLike": { [AMR]: "p*" } }, ctx).ok, false);
  });
});

describe("evaluateTrustPolicy: operators and context forms", () => {
  it("StringEqualsIgnoreCase compares values without case; StringNotEqualsIgnoreCase negates it", () => {
    const ctx = { "x:k": ["MiXeD"] };
    assert.equal(conditionResult({ StringEqualsIgnoreCase: { "x:k": "mixed" } }, ctx).ok, true);
    assert.equal(conditionResult({ StringEqualsIgnoreCase: { "x:k": "other" } }, ctx).ok, false);
    assert.equal(conditionResult({ StringNotEqualsIgnoreCase: { "x:k": "MIXED" } }, ctx).ok, false);
    assert.equal(conditionResult({ StringNotEqualsIgnoreCase: { "x:k": "other" } }, ctx).ok, true);
  });
  it("StringNotLike does not match a value its pattern matches", () => {
    assert.equal(conditionResult({ StringNotLike: { [SUB]: "system:*" } }, base).ok, false);
  });
  it("Bool compares case-insensitively, and false is not true", () => {
    assert.equal(conditionResult({ Bool: { "x:b": "true" } }, { "x:b": ["TRUE"] }).ok, true);
    assert.equal(conditionResult({ Bool: { "x:b": "true" } }, { "x:b": ["false"] }).ok, false);
  });
  it("the request context may be a Map; its key names are matched without case too", () => {
    const ctx = new Map([[SUB.toUpperCase(), ["system:serviceaccount:team-a:app"]]]);
    assert.equal(
      conditionResult({ StringEquals: { [SUB]: "system:serviceaccount:team-a:app" } }, ctx).ok,
      true,
    );
    assert.equal(conditionResult({ StringEquals: { [`${P}:azp`]: "x" } }, ctx).actual, undefined);
  });
});

describe("evaluateTrustPolicy: statement reasons and the decision's sentence", () => {
  it("a statement without conditions says so; one with conditions says they all match", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow(), allow({ StringLike: { [SUB]: "system:*" } }, { Sid: "" }))),
      req(base),
    );
    assert.equal(d.statements[0]?.reason, "principal and action match and it has no conditions");
    assert.equal(d.statements[1]?.reason, "principal, action and every condition match");
    assert.equal(d.statements[1].name, "Statement[1]", "an empty Sid is no Sid");
    assert.equal(
      d.reason,
      'Statement[0] (Sid "Allow") allows: principal and action match and it has no conditions',
    );
  });

  it("a statement result carries its position, Sid, effect and what matched", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow(undefined, { Action: "sts:AssumeRole" }))),
      req(base),
    );
    const [s] = d.statements;
    assert.ok(s);
    assert.deepEqual(
      {
        index: s.index,
        sid: s.sid,
        effect: s.effect,
        pm: s.principalMatches,
        am: s.actionMatches,
        applies: s.applies,
      },
      { index: 0, sid: "Allow", effect: "Allow", pm: true, am: false, applies: false },
    );
  });

  it("a NotAction that covers the action is named as NotAction", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy({ Effect: "Allow", Principal: { Federated: PROVIDER }, NotAction: "sts:*" })),
      req(base),
    );
    assert.equal(d.statements[0]?.reason, `its NotAction does not cover ${ACTION}`);
  });

  it("a principal naming only other types is not this principal, and says which one was asked", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow(undefined, { Principal: { AWS: "arn:aws:iam::111122223333:root" } }))),
      req(base),
    );
    assert.equal(d.decision, "ImplicitDeny");
    assert.equal(d.statements[0]?.reason, `its Principal does not name Federated ${PROVIDER}`);
  });

  it("a failed condition is named with its operator in the statement's reason", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow({ StringEquals: { [SUB]: "x" }, StringLike: { [SUB]: "system:*" } }))),
      req(base),
    );
    assert.equal(
      d.statements[0]?.reason,
      `condition StringEquals: ${SUB} is "system:serviceaccount:team-a:app": StringEquals "x" does not match`,
    );
  });

  it("an explicit deny's sentence names the statement and why it applies", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy(allow(), { Effect: "Deny", Principal: "*", Action: "*" })),
      req(base),
    );
    assert.equal(
      d.reason,
      "Statement[1] denies: principal and action match and it has no conditions (an explicit Deny wins over any Allow)",
    );
    assert.equal(d.allowed, false);
    assert.equal(d.deciding?.index, 1);
  });

  it("a Deny that does not apply decides nothing; with no Allow the policy has no Allow statement", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(policy({ Effect: "Deny", Principal: "*", Action: "sts:AssumeRole" })),
      req(base),
    );
    assert.equal(d.decision, "ImplicitDeny");
    assert.equal(d.reason, "no statement allows: the policy has no Allow statement");
  });

  it("an implicit deny lists every Allow that does not apply, in order, and not the Denies", () => {
    const d = evaluateTrustPolicy(
      parseTrustPolicy(
        policy(
          allow(undefined, { Action: "sts:AssumeRole" }),
          { Effect: "Deny", Principal: "*", Action: "sts:AssumeRole" },
          allow(undefined, { Sid: "Other", Principal: { Federated: "arn:other" } }),
        ),
      ),
      req(base),
    );
    assert.equal(
      d.reason,
      `no statement allows: Statement[0] (Sid "Allow") does not apply: its Action does not cover ${ACTION}; ` +
        `Statement[2] (Sid "Other") does not apply: its Principal does not name Federated ${PROVIDER}`,
    );
  });
});

describe("iamGlob: cached patterns", () => {
  it("the same pattern matched with and without case is two patterns", () => {
    assert.equal(iamGlob("STS:Assume*", "sts:assumerole", true), true);
    assert.equal(iamGlob("STS:Assume*", "sts:assumerole"), false);
    assert.equal(iamGlob("sts:Get?", "STS:GETX"), false);
    assert.equal(iamGlob("sts:Get?", "STS:GETX", true), true);
  });
  it("a literal ${*} in the middle of a pattern", () => {
    assert.equal(iamGlob("a${*}b*", "a*bcd"), true);
    assert.equal(iamGlob("a${*}b*", "axbcd"), false);
  });
});

describe("parseTrustPolicy: what it accepts", () => {
  it("accepts the old Version 2008-10-17 and a document without Version", () => {
    assert.equal(parseTrustPolicy({ Version: "2008-10-17", Statement: [allow()] }).version, "2008-10-17");
    assert.equal(parseTrustPolicy({ Statement: [allow()] }).version, undefined);
  });
  it("takes a JSON text as well as a parsed document", () => {
    const p = parseTrustPolicy(JSON.stringify(policy(allow({ Bool: { "x:b": true } }))));
    assert.deepEqual(p.statements[0]?.conditions[0]?.values, ["true"]);
  });
  it("a statement keeps its Sid, Effect, Principal, Action and conditions; NotAction is undefined then", () => {
    const [s] = parseTrustPolicy(
      policy(allow({ "ForAllValues:StringLikeIfExists": { "x:k": ["a", 1] } }, { Effect: "Deny" })),
    ).statements;
    assert.deepEqual(s, {
      index: 0,
      sid: "Allow",
      effect: "Deny",
      principal: { Federated: [PROVIDER] },
      action: [ACTION],
      notAction: undefined,
      conditions: [
        {
          operator: {
            text: "ForAllValues:StringLikeIfExists",
            base: "StringLike",
            set: "ForAllValues",
            ifExists: true,
          },
          key: "x:k",
          values: ["a", "1"],
        },
      ],
    });
  });
  it("a statement without Condition has no conditions", () => {
    assert.deepEqual(parseTrustPolicy(policy(allow())).statements[0]?.conditions, []);
  });
  it("reads ForAnyValue: qualifiers and Bool with a JSON boolean", () => {
    const [c] =
      parseTrustPolicy(policy(allow({ "ForAnyValue:Bool": { "x:b": false } }))).statements[0]?.conditions ??
      [];
    assert.deepEqual(c?.operator, {
      text: "ForAnyValue:Bool",
      base: "Bool",
      set: "ForAnyValue",
      ifExists: false,
    });
    assert.deepEqual(c.values, ["false"]);
  });
});

describe("parseTrustPolicy: exact messages and paths", () => {
  const bad: [string, unknown, string][] = [
    ["not JSON", "{", "trust policy: not valid JSON: "],
    ["not an object", "[1]", "trust policy: expected an object, got an array"],
    [
      "a statement that is not an object",
      policy("x"),
      "trust policy: Statement[0]: expected an object, got a string",
    ],
    [
      "a single statement that is not an object",
      { Statement: 7 },
      "trust policy: Statement: expected an object, got a number",
    ],
    [
      "no Effect",
      policy({ Principal: "*", Action: "*" }),
      "trust policy: Statement[0].Effect: required string is missing",
    ],
    [
      "an Effect that is not a string",
      policy(allow(undefined, { Effect: true })),
      "trust policy: Statement[0].Effect: expected a string, got a boolean",
    ],
    [
      "a Principal that is neither * nor an object",
      policy(allow(undefined, { Principal: "arn:aws:iam::1:root" })),
      'trust policy: Statement[0].Principal: expected "*" or an object such as {"Federated": ARN}, got a string',
    ],
    [
      "a Principal naming nobody",
      policy(allow(undefined, { Principal: {} })),
      "trust policy: Statement[0].Principal: names no principal",
    ],
    [
      "a principal id that is not a string",
      policy(allow(undefined, { Principal: { Federated: ["arn:x", 5] } })),
      "trust policy: Statement[0].Principal.Federated[1]: expected a string, got a number",
    ],
    [
      "an Action that is a number (no scalars outside conditions)",
      policy(allow(undefined, { Action: 5 })),
      "trust policy: Statement[0].Action: expected a string, got a number",
    ],
    [
      "a NotAction list with a boolean",
      policy({ Effect: "Allow", Principal: "*", NotAction: ["sts:X", true] }),
      "trust policy: Statement[0].NotAction[1]: expected a string, got a boolean",
    ],
    [
      "neither Action nor NotAction",
      policy({ Effect: "Allow", Principal: "*" }),
      "trust policy: Statement[0]: needs exactly one of Action and NotAction",
    ],
    [
      "a NotResource",
      policy(allow(undefined, { NotResource: "*" })),
      "trust policy: Statement[0].Resource: a trust policy has no Resource (the role is the resource)",
    ],
    [
      "a Condition that is not an object",
      policy(allow("x")),
      "trust policy: Statement[0].Condition: expected an object, got a string",
    ],
    [
      "an operator whose keys are not an object",
      policy(allow({ StringEquals: ["a"] })),
      "trust policy: Statement[0].Condition.StringEquals: expected an object of condition keys, got an array",
    ],
    [
      "a condition value list with an object",
      policy(allow({ StringEquals: { a: ["x", {}] } })),
      "trust policy: Statement[0].Condition.StringEquals.a[1]: expected a string, got an object",
    ],
    [
      "a single condition value that is null",
      policy(allow({ StringEquals: { a: null } })),
      "trust policy: Statement[0].Condition.StringEquals.a: expected a string, got null",
    ],
    [
      "Bool with a value that only contains true",
      policy(allow({ Bool: { a: "untrue" } })),
      'trust policy: Statement[0].Condition.Bool.a: Bool takes "true" or "false", got "untrue"',
    ],
    [
      "Null with a value that only starts with false",
      policy(allow({ Null: { a: ["true", "falsey"] } })),
      'trust policy: Statement[0].Condition.Null.a: Null takes "true" or "false", got "falsey"',
    ],
    [
      "Null with a set qualifier",
      policy(allow({ "ForAnyValue:Null": { a: "true" } })),
      'trust policy: Statement[0].Condition["ForAnyValue:Null"]: unsupported condition operator "ForAnyValue:Null" (supported: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike, Bool, Null, with ForAnyValue:, ForAllValues: and ...IfExists)',
    ],
    [
      "a qualifier spelled in another case",
      policy(allow({ "forAnyValue:StringEquals": { a: "x" } })),
      'trust policy: Statement[0].Condition["forAnyValue:StringEquals"]: unsupported condition operator',
    ],
    [
      "two set qualifiers (IAM takes one at most)",
      policy(allow({ "ForAnyValue:ForAllValues:StringEquals": { a: "x" } })),
      'trust policy: Statement[0].Condition["ForAnyValue:ForAllValues:StringEquals"]: unsupported condition operator',
    ],
    [
      "IfExists not at the end",
      policy(allow({ IfExistsStringEquals: { a: "x" } })),
      "trust policy: Statement[0].Condition.IfExistsStringEquals: unsupported condition operator",
    ],
    [
      "a Sid that is not a string",
      policy(allow(undefined, { Sid: 1 })),
      "trust policy: Statement[0].Sid: expected a string, got a number",
    ],
    [
      "a Version that is not a string",
      { Version: 2012, Statement: [allow()] },
      "trust policy: Version: expected a string, got a number",
    ],
  ];
  for (const [title, doc, message] of bad) {
    it(title, () => {
      assert.throws(
        () => parseTrustPolicy(doc),
        (e: unknown) => {
          assert.ok(e instanceof IrsaError);
          assert.equal(e.code, "POLICY_INVALID");
          assert.ok(e.message.startsWith(message), `${e.message}\ndoes not start with\n${message}`);
          assert.equal(
            e.hint,
            "fix the trust policy document (IAM refuses it too, with MalformedPolicyDocument)",
          );
          return true;
        },
      );
    });
  }
});

describe("iamGlob: characters and the pattern cache", () => {
  it("? matches one character, a character outside the BMP included (not half of its UTF-16 pair)", () => {
    assert.equal(iamGlob("?", "😀"), true);
    assert.equal(iamGlob("a?b", "a😀b"), true);
    assert.equal(iamGlob("??", "😀"), false);
    assert.equal(iamGlob("?", "😀", true), true);
  });
  it("a case-insensitive pattern is never taken for a case-sensitive one whose text starts with i", () => {
    assert.equal(iamGlob("ab", "AB", true), true);
    assert.equal(iamGlob("iab", "AB"), false);
    assert.equal(iamGlob("iab", "iAB"), false);
  });
  it("a case-sensitive pattern is never taken for a case-insensitive one whose text starts with c", () => {
    assert.equal(iamGlob("xy", "xy"), true);
    assert.equal(iamGlob("cxy", "CXY", true), true);
  });
});

describe("evaluateTrustPolicy: Null with both values", () => {
  it('Null ["true", "false"] matches whether the key is there or not (its values are OR)', () => {
    const AMR = `${P}:amr`;
    assert.equal(conditionResult({ Null: { [AMR]: ["true", "false"] } }, base).ok, true);
    assert.equal(conditionResult({ Null: { [SUB]: ["true", "false"] } }, base).ok, true);
    assert.equal(conditionResult({ Null: { [SUB]: ["TRUE"] } }, base).ok, false);
    assert.equal(conditionResult({ Null: { [AMR]: ["True"] } }, base).ok, true);
  });
});

describe("evaluateTrustPolicy: condition operator rules, one by one", () => {
  it("StringLike is case-sensitive, as StringEquals is (only the ...IgnoreCase operators ignore case)", () => {
    assert.equal(conditionResult({ StringLike: { [SUB]: "system:serviceaccount:*" } }, base).ok, true);
    assert.equal(conditionResult({ StringLike: { [SUB]: "SYSTEM:serviceaccount:*" } }, base).ok, false);
    assert.equal(conditionResult({ StringNotLike: { [SUB]: "SYSTEM:*" } }, base).ok, true);
  });
  it("StringNotLike with several patterns: the value must match none of them", () => {
    const matchesSecond = ["kube-system:*", "system:serviceaccount:team-a:*"];
    assert.equal(conditionResult({ StringNotLike: { [SUB]: matchesSecond } }, base).ok, false);
    assert.equal(conditionResult({ StringNotLike: { [SUB]: ["x*", "y?"] } }, base).ok, true);
  });
  it("StringEqualsIgnoreCase with several values is OR; StringNotEqualsIgnoreCase must equal none", () => {
    const ctx = { "x:k": ["MiXeD"] };
    assert.equal(conditionResult({ StringEqualsIgnoreCase: { "x:k": ["other", "mixed"] } }, ctx).ok, true);
    assert.equal(
      conditionResult({ StringNotEqualsIgnoreCase: { "x:k": ["other", "MIXED"] } }, ctx).ok,
      false,
    );
    assert.equal(conditionResult({ StringNotEqualsIgnoreCase: { "x:k": ["other", "else"] } }, ctx).ok, true);
  });
  it("Bool false matches false and not true; a JSON true matches true", () => {
    assert.equal(conditionResult({ Bool: { "x:b": "false" } }, { "x:b": ["false"] }).ok, true);
    assert.equal(conditionResult({ Bool: { "x:b": "false" } }, { "x:b": ["true"] }).ok, false);
    assert.equal(conditionResult({ Bool: { "x:b": true } }, { "x:b": ["true"] }).ok, true);
  });
  it("a negated ...IfExists on a present key still compares", () => {
    const sub = "system:serviceaccount:team-a:app";
    assert.equal(conditionResult({ StringNotEqualsIfExists: { [SUB]: sub } }, base).ok, false);
    assert.equal(conditionResult({ StringNotEqualsIfExists: { [SUB]: "x" } }, base).ok, true);
  });
  it("ForAllValues:StringEqualsIgnoreCase: every request value equals one policy value, without case", () => {
    const ctx = { "x:amr": ["PWD", "mfa"] };
    assert.equal(
      conditionResult({ "ForAllValues:StringEqualsIgnoreCase": { "x:amr": ["pwd", "MFA"] } }, ctx).ok,
      true,
    );
    assert.equal(
      conditionResult({ "ForAllValues:StringEqualsIgnoreCase": { "x:amr": "pwd" } }, ctx).ok,
      false,
    );
  });
  it("a condition key is found wherever it stands in the request, in a Map or an object", () => {
    const entries: [string, string[]][] = [
      ["x:first", ["1"]],
      ["X:Wanted", ["v"]],
      ["x:last", ["2"]],
    ];
    for (const ctx of [new Map(entries), Object.fromEntries(entries)]) {
      const c = conditionResult({ StringEquals: { "x:wanted": "v" } }, ctx);
      assert.deepEqual([c.ok, c.actual], [true, ["v"]]);
      assert.deepEqual(conditionResult({ StringEquals: { "x:last": "2" } }, ctx).actual, ["2"]);
      assert.equal(conditionResult({ StringEquals: { "x:other": "v" } }, ctx).actual, undefined);
    }
  });
  it("an operator the evaluator cannot evaluate (Numeric, Date, IP, ARN, Binary) is refused, never ignored", () => {
    for (const op of ["NumericLessThan", "DateGreaterThan", "IpAddress", "ArnLike", "BinaryEquals"]) {
      assert.throws(
        () => parseTrustPolicy(policy(allow({ [op]: { "x:k": "1" } }))),
        (e: unknown) =>
          e instanceof IrsaError &&
          e.message.includes(`Condition.${op}: unsupported condition operator "${op}"`),
      );
    }
  });
});
