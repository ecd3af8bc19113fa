import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  annotateCommands,
  buildTrustPolicy,
  canonicalPolicy,
  checkMaxSessionDuration,
  planProvider,
  planRole,
  providerChanges,
  roleArn,
  roleChanges,
  samePolicy,
  type RoleState,
} from "../../src/core/iam/index.js";

const ARN = "arn:aws:iam::111122223333:role/app";
const POLICY = buildTrustPolicy({
  partition: "aws",
  accountId: "111122223333",
  issuer: "oidc.example.com/c1",
  serviceAccounts: [{ namespace: "team", name: "app" }],
  audiences: ["sts.amazonaws.com"],
});
const P1 = "arn:aws:iam::111122223333:policy/p1";
const P2 = "arn:aws:iam::aws:policy/ReadOnlyAccess";

function role(over: Partial<RoleState> = {}): RoleState {
  return { arn: ARN, trustPolicy: POLICY, maxSessionDuration: 3600, attached: [P1], ...over };
}

describe("samePolicy", () => {
  it("ignores key order and one-element arrays, as IAM may give them back", () => {
    const reordered = JSON.parse(JSON.stringify(POLICY), (_k, v: unknown) =>
      typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).reverse())
        : v,
    ) as unknown;
    assert.ok(samePolicy(POLICY, reordered));
    assert.ok(
      samePolicy({ Action: ["sts:AssumeRoleWithWebIdentity"] }, { Action: "sts:AssumeRoleWithWebIdentity" }),
    );
    assert.deepEqual(canonicalPolicy({ b: [1], a: { d: 1, c: [2, 3] } }), { a: { c: [2, 3], d: 1 }, b: 1 });
  });
  const statement = POLICY.Statement[0];
  const withCondition = (Condition: unknown): unknown => ({
    ...POLICY,
    Statement: [{ ...statement, Condition }],
  });
  for (const [name, a, b] of [
    [
      "another subject",
      POLICY,
      withCondition({
        StringEquals: {
          "oidc.example.com/c1:sub": "system:serviceaccount:team:other",
          "oidc.example.com/c1:aud": "sts.amazonaws.com",
        },
      }),
    ],
    [
      "StringLike for StringEquals",
      POLICY,
      withCondition({
        StringLike: {
          "oidc.example.com/c1:sub": "system:serviceaccount:team:app",
          "oidc.example.com/c1:aud": "sts.amazonaws.com",
        },
      }),
    ],
    ["a second statement", POLICY, { ...POLICY, Statement: [statement, statement] }],
    ["values in another order", { a: ["y", "x"] }, { a: ["x", "y"] }],
  ] as const) {
    it(`tells apart ${name}`, () => {
      assert.equal(samePolicy(a, b), false);
    });
  }
});

describe("planRole", () => {
  it("creates an absent role with every policy once", () => {
    const p = planRole(undefined, {
      trustPolicy: POLICY,
      maxSessionDuration: 7200,
      policyArns: [P1, P1, P2],
    });
    assert.deepEqual(p, {
      create: true,
      updateTrustPolicy: false,
      setMaxSessionDuration: undefined,
      attach: [P1, P2],
      changed: true,
    });
  });
  it("changes nothing when all is there, and keeps the session length when not given", () => {
    const p = planRole(role({ maxSessionDuration: 9000 }), {
      trustPolicy: POLICY,
      maxSessionDuration: undefined,
      policyArns: [P1],
    });
    assert.equal(p.changed, false);
  });
  it("replaces another trust policy, sets the session length, attaches only what is missing", () => {
    const p = planRole(role({ trustPolicy: { Version: "2012-10-17", Statement: [] } }), {
      trustPolicy: POLICY,
      maxSessionDuration: 7200,
      policyArns: [P1, P2],
    });
    assert.deepEqual(p, {
      create: false,
      updateTrustPolicy: true,
      setMaxSessionDuration: 7200,
      attach: [P2],
      changed: true,
    });
    assert.deepEqual(
      roleChanges(
        "app",
        p,
        { trustPolicy: POLICY, maxSessionDuration: 7200, policyArns: [P1, P2] },
        role(),
      ).map((c) => c.action),
      ["UpdateAssumeRolePolicy", "UpdateRole", "AttachRolePolicy"],
    );
  });
  it("never detaches a policy attached by others", () => {
    const p = planRole(role({ attached: [P1, P2] }), {
      trustPolicy: POLICY,
      maxSessionDuration: undefined,
      policyArns: [],
    });
    assert.equal(p.changed, false);
  });
});

describe("checkMaxSessionDuration", () => {
  for (const [raw, want] of [
    ["1e4", "INPUT_INVALID"],
    ["0x1c20", "INPUT_INVALID"],
    [" 7200", "INPUT_INVALID"],
    ["7200 ", "INPUT_INVALID"],
    ["3600", 3600],
    ["43200", 43200],
    ["3599", "INPUT_INVALID"],
    ["43201", "INPUT_INVALID"],
    ["1h", "INPUT_INVALID"],
    ["7200.5", "INPUT_INVALID"],
    ["", "INPUT_INVALID"],
  ] as const) {
    it(`"${raw}" -> ${want}`, () => {
      let got: number | string;
      try {
        got = checkMaxSessionDuration(raw);
      } catch (e) {
        assert.ok(e instanceof IrsaError);
        got = e.code;
      }
      assert.equal(got, want);
    });
  }
});

describe("checkMaxSessionDuration's refusal", () => {
  it("names the flag and the value, and says what IAM allows", () => {
    assert.throws(
      () => checkMaxSessionDuration("60", "--session"),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.describe() ===
          '--session "60" is not a whole number of seconds from 3600 to 43200\n  hint: pass seconds, such as --session 7200 for two hours (IAM allows 1 to 12 hours)',
    );
    assert.throws(() => checkMaxSessionDuration("60"), /^IrsaError: --max-session-duration "60"/);
  });
});

describe("canonicalPolicy and planRole, one rule at a time", () => {
  it("keeps an empty list a list, and null and scalars as they are", () => {
    assert.deepEqual(canonicalPolicy({ a: [], b: null, c: 1, d: "x" }), { a: [], b: null, c: 1, d: "x" });
    assert.deepEqual(canonicalPolicy([[1]]), 1);
    assert.equal(samePolicy({ a: [] }, { a: null }), false);
  });
  it("a session length equal to the role's changes nothing", () => {
    const p = planRole(role({ maxSessionDuration: 7200 }), {
      trustPolicy: POLICY,
      maxSessionDuration: 7200,
      policyArns: [P1],
    });
    assert.equal(p.setMaxSessionDuration, undefined);
    assert.equal(p.changed, false);
  });
  it("each change alone makes the plan changed", () => {
    const want = { trustPolicy: POLICY, maxSessionDuration: undefined, policyArns: [P1] };
    const trust = planRole(role({ trustPolicy: {} }), want);
    assert.deepEqual([trust.updateTrustPolicy, trust.changed], [true, true]);
    const session = planRole(role(), { ...want, maxSessionDuration: 7200 });
    assert.deepEqual(
      [session.updateTrustPolicy, session.setMaxSessionDuration, session.changed],
      [false, 7200, true],
    );
    const attach = planRole(role(), { ...want, policyArns: [P1, P2, P2] });
    assert.deepEqual([attach.updateTrustPolicy, attach.attach, attach.changed], [false, [P2], true]);
  });
});

describe("changes and kubectl lines", () => {
  it("a role to create: CreateRole, with the session length only when given, then each attachment", () => {
    const want = { trustPolicy: POLICY, maxSessionDuration: 7200, policyArns: [P1, P2] };
    const plan = planRole(undefined, want);
    assert.deepEqual(roleChanges("app", plan, want, undefined), [
      { action: "CreateRole", detail: "role app with the trust policy, max session 7200 s" },
      { action: "AttachRolePolicy", detail: `${P1} to app` },
      { action: "AttachRolePolicy", detail: `${P2} to app` },
    ]);
    const plain = { ...want, maxSessionDuration: undefined, policyArns: [] };
    assert.deepEqual(roleChanges("app", planRole(undefined, plain), plain, undefined), [
      { action: "CreateRole", detail: "role app with the trust policy" },
    ]);
  });
  it("an existing role: the trust policy, then the session length from its old value (IAM's 3600 when unset)", () => {
    const want = { trustPolicy: POLICY, maxSessionDuration: 7200, policyArns: [] };
    const current = role({ trustPolicy: {}, maxSessionDuration: 9000 });
    assert.deepEqual(roleChanges("app", planRole(current, want), want, current), [
      { action: "UpdateAssumeRolePolicy", detail: "replace the trust policy of app" },
      { action: "UpdateRole", detail: "max session duration of app 9000 s -> 7200 s" },
    ]);
    const unset = role({ maxSessionDuration: undefined });
    assert.deepEqual(roleChanges("app", planRole(unset, want), want, unset), [
      { action: "UpdateRole", detail: "max session duration of app 3600 s -> 7200 s" },
    ]);
  });
  it("an unchanged role has no changes", () => {
    const want = { trustPolicy: POLICY, maxSessionDuration: 3600, policyArns: [P1] };
    assert.deepEqual(roleChanges("app", planRole(role(), want), want, role()), []);
  });
  it("a provider to create without thumbprints names only its client ids", () => {
    const plan = planProvider(undefined, { clientIds: ["a", "b"], thumbprints: [] }, false);
    assert.deepEqual(providerChanges("https://x/c1", plan), [
      { action: "CreateOpenIDConnectProvider", detail: "https://x/c1 with client ids a, b" },
    ]);
  });
  it("thumbprints are listed comma-separated, on create and on update", () => {
    const [t1, t2] = ["a".repeat(40), "b".repeat(40)];
    const create = planProvider(undefined, { clientIds: ["a"], thumbprints: [t1, t2] }, false);
    assert.equal(
      providerChanges("https://x/c1", create)[0]?.detail,
      `https://x/c1 with client ids a and thumbprints ${t1}, ${t2}`,
    );
    const update = planProvider(
      { clientIds: ["a"], thumbprints: [t1] },
      { clientIds: ["a"], thumbprints: [t2] },
      false,
    );
    assert.deepEqual(providerChanges("https://x/c1", update), [
      { action: "UpdateOpenIDConnectProviderThumbprint", detail: `${t1}, ${t2}` },
    ]);
  });
  it("a provider to create with no thumbprint list names only its client ids", () => {
    const plan = {
      create: true,
      addClientIds: ["a"],
      removeClientIds: [],
      setThumbprints: undefined,
      changed: true,
    };
    assert.deepEqual(providerChanges("https://x/c1", plan), [
      { action: "CreateOpenIDConnectProvider", detail: "https://x/c1 with client ids a" },
    ]);
  });
  it("an existing provider with thumbprints kept: no thumbprint call", () => {
    const plan = planProvider(
      { clientIds: ["a"], thumbprints: ["a".repeat(40)] },
      { clientIds: ["a", "b", "c"], thumbprints: [] },
      false,
    );
    assert.deepEqual(providerChanges("https://x/c1", plan), [
      { action: "AddClientIDToOpenIDConnectProvider", detail: "b" },
      { action: "AddClientIDToOpenIDConnectProvider", detail: "c" },
    ]);
  });
  it("the kubectl line takes the default audience when none is given, and quotes single quotes", () => {
    assert.deepEqual(annotateCommands("arn:x", [{ namespace: "team", name: "app" }], []), [
      "kubectl annotate serviceaccount --namespace team app eks.amazonaws.com/role-arn=arn:x --overwrite",
    ]);
    assert.deepEqual(
      annotateCommands("arn:x", [{ namespace: "team", name: "app" }], ["it's 'q'", "second"]),
      [
        "kubectl annotate serviceaccount --namespace team app eks.amazonaws.com/role-arn=arn:x 'eks.amazonaws.com/audience=it'\\''s '\\''q'\\''' --overwrite",
      ],
    );
    assert.deepEqual(
      annotateCommands("arn:x", [{ namespace: "team", name: "app" }], ["a@b%c+d=e:f,g.h/i-j_k"], "p"),
      [
        "kubectl annotate serviceaccount --namespace team app p/role-arn=arn:x p/audience=a@b%c+d=e:f,g.h/i-j_k --overwrite",
      ],
    );
    assert.deepEqual(annotateCommands("arn:x", [{ namespace: "team", name: "app" }], ["x*"], "p"), [
      "kubectl annotate serviceaccount --namespace team app p/role-arn=arn:x 'p/audience=x*' --overwrite",
    ]);
  });

  it("a provider to create is one CreateOpenIDConnectProvider", () => {
    const plan = planProvider(
      undefined,
      { clientIds: ["sts.amazonaws.com"], thumbprints: ["a".repeat(40)] },
      false,
    );
    assert.deepEqual(providerChanges("https://x/c1", plan), [
      {
        action: "CreateOpenIDConnectProvider",
        detail: `https://x/c1 with client ids sts.amazonaws.com and thumbprints ${"a".repeat(40)}`,
      },
    ]);
  });
  it("an existing provider: one call per client id, one for the thumbprint list", () => {
    const plan = planProvider(
      { clientIds: ["a", "old"], thumbprints: ["a".repeat(40)] },
      { clientIds: ["a", "b"], thumbprints: ["b".repeat(40)] },
      true,
    );
    assert.deepEqual(
      providerChanges("https://x/c1", plan).map((c) => `${c.action} ${c.detail}`),
      [
        "AddClientIDToOpenIDConnectProvider b",
        "RemoveClientIDFromOpenIDConnectProvider old",
        `UpdateOpenIDConnectProviderThumbprint ${"b".repeat(40)}`,
      ],
    );
  });
  it("one kubectl line per account; --all for NS/*; the audience only when not the default", () => {
    const arn = roleArn("aws-us-gov", "111122223333", "app");
    assert.equal(arn, "arn:aws-us-gov:iam::111122223333:role/app");
    assert.deepEqual(
      annotateCommands(
        arn,
        [
          { namespace: "team", name: "app" },
          { namespace: "batch", name: "*" },
        ],
        ["sts.amazonaws.com"],
      ),
      [
        `kubectl annotate serviceaccount --namespace team app eks.amazonaws.com/role-arn=${arn} --overwrite`,
        `kubectl annotate serviceaccount --namespace batch --all eks.amazonaws.com/role-arn=${arn} --overwrite`,
      ],
    );
    assert.deepEqual(annotateCommands(arn, [{ namespace: "team", name: "app" }], ["my aud"], "example.org"), [
      `kubectl annotate serviceaccount --namespace team app example.org/role-arn=${arn} 'example.org/audience=my aud' --overwrite`,
    ]);
  });
});
