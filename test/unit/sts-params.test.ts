/**
 * AssumeRoleWithWebIdentity's parameters against the API model's constraints, each at its limits,
 * in the query protocol's ValidationError words; the session policy's JSON check. Pure; table tests.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAssumeParams, checkSessionPolicy, validationError } from "../../src/core/sts/params.js";

const GOOD: Record<string, string> = {
  RoleArn: "arn:aws:iam::111122223333:role/app",
  RoleSessionName: "s1",
  WebIdentityToken: "a.b.c",
};

const check = (over: Record<string, string | undefined>) => {
  const params = { ...GOOD, ...over };
  return checkAssumeParams((n) => params[n]);
};

const problems = (over: Record<string, string | undefined>): readonly string[] => {
  const r = check(over);
  return r.ok ? [] : r.problems;
};

describe("checkAssumeParams: each member at its limits", () => {
  const limits: [string, string, string, RegExp][] = [
    ["RoleArn", "r".repeat(20), "r".repeat(19), /at 'roleArn' .* greater than or equal to 20$/],
    ["RoleArn", "r".repeat(2048), "r".repeat(2049), /at 'roleArn' .* less than or equal to 2048$/],
    ["RoleSessionName", "ab", "a", /at 'roleSessionName' .* greater than or equal to 2$/],
    ["RoleSessionName", "a".repeat(64), "a".repeat(65), /at 'roleSessionName' .* less than or equal to 64$/],
    ["WebIdentityToken", "a.bc", "a.b", /at 'webIdentityToken' .* greater than or equal to 4$/],
    [
      "WebIdentityToken",
      "t".repeat(20_000),
      "t".repeat(20_001),
      /at 'webIdentityToken' .* less than or equal to 20000$/,
    ],
    ["Policy", "{", "", /at 'policy' .* greater than or equal to 1$/],
    ["Policy", "p".repeat(2048), "p".repeat(2049), /at 'policy' .* less than or equal to 2048$/],
    ["DurationSeconds", "900", "899", /at 'durationSeconds' .* greater than or equal to 900$/],
    ["DurationSeconds", "43200", "43201", /at 'durationSeconds' .* less than or equal to 43200$/],
  ];
  for (const [member, atLimit, beyond, re] of limits) {
    it(`${member}: ${atLimit.length > 8 ? `${atLimit.length} characters` : `"${atLimit}"`} is taken, ${beyond.length > 8 ? `${beyond.length}` : `"${beyond}"`} is refused`, () => {
      assert.deepEqual(problems({ [member]: atLimit }), []);
      const p = problems({ [member]: beyond });
      assert.equal(p.length, 1, p.join("\n"));
      assert.match(p[0] ?? "", re);
    });
  }

  it("the parameters taken are passed on as given; DurationSeconds as a number, absent when not sent", () => {
    assert.deepEqual(check({}), {
      ok: true,
      params: {
        roleArn: GOOD.RoleArn,
        roleSessionName: "s1",
        webIdentityToken: "a.b.c",
        durationSeconds: undefined,
      },
    });
    const r = check({ DurationSeconds: "7200" });
    assert.ok(r.ok);
    assert.equal(r.params.durationSeconds, 7200);
  });
});

describe("checkAssumeParams: AWS's ValidationError text", () => {
  it("names every missing member as null, in the model's order, with the count", () => {
    const r = checkAssumeParams(() => undefined);
    assert.ok(!r.ok);
    assert.equal(r.error.code, "ValidationError");
    assert.equal(
      r.error.message,
      "3 validation errors detected: " +
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
    );
  });

  it("one problem is '1 validation error' (singular)", () => {
    const r = check({ RoleSessionName: "a" });
    assert.ok(!r.ok);
    assert.equal(
      r.error.message,
      "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    );
    assert.equal(validationError(["x", "y"]).message, "2 validation errors detected: x; y");
  });

  it("a session name outside [\\w+=,.@-]* fails the pattern, besides its length", () => {
    assert.deepEqual(problems({ RoleSessionName: "a b" }), [
      "Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    ]);
    assert.deepEqual(problems({ RoleSessionName: "a+b=c,d.e@f-g_h" }), []);
    assert.equal(problems({ RoleSessionName: "é".repeat(65) }).length, 2);
  });

  it("the token's value is never echoed, whatever is wrong with it", () => {
    assert.deepEqual(problems({ WebIdentityToken: "abc" }), [
      "Value (sensitive) at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
    ]);
  });

  it("a value echoed is cut after 256 characters", () => {
    const at = "x".repeat(256);
    assert.deepEqual(problems({ DurationSeconds: at }), [
      `Value '${at}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`,
    ]);
    assert.deepEqual(problems({ DurationSeconds: `${at}y` }), [
      `Value '${at}...' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`,
    ]);
  });

  it("DurationSeconds must be an integer of at most 12 digits, written as digits alone", () => {
    for (const text of ["x900", "900x", "9.5", "1e3", "+900", " 900", "", "9".repeat(13)]) {
      assert.deepEqual(
        problems({ DurationSeconds: text }),
        [`Value '${text}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`],
        text,
      );
    }
    assert.deepEqual(problems({ DurationSeconds: "-5" }), [
      "Value '-5' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ]);
    assert.deepEqual(problems({ DurationSeconds: "9".repeat(12) }), [
      "Value '999999999999' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
    ]);
  });
});

describe("checkSessionPolicy", () => {
  it("takes a JSON object, refuses anything else as MalformedPolicyDocument", () => {
    assert.equal(checkSessionPolicy(undefined), undefined);
    assert.equal(checkSessionPolicy('{"Version":"2012-10-17"}'), undefined);
    for (const text of ["{nope", "null", "[]", "5", '"x"', "true"]) {
      assert.deepEqual(
        checkSessionPolicy(text),
        {
          code: "MalformedPolicyDocument",
          status: 400,
          type: "Sender",
          message: "The policy is not in the valid JSON format.",
        },
        text,
      );
    }
  });
});
