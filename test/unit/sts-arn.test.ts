/**
 * The local STS's ARNs: role ARNs taken apart as IAM writes them, the assumed-role ARN STS returns,
 * and the base32 behind the role ids it derives. Pure; table tests.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assumedRoleArn, base32, parseRoleArn, providerArn, roleId } from "../../src/core/sts/arn.js";

describe("parseRoleArn", () => {
  const accepted: [string, { partition: string; account: string; path: string; name: string }][] = [
    [
      "arn:aws:iam::111122223333:role/app",
      { partition: "aws", account: "111122223333", path: "/", name: "app" },
    ],
    [
      "arn:aws-cn:iam::111122223333:role/team/a/app",
      { partition: "aws-cn", account: "111122223333", path: "/team/a/", name: "app" },
    ],
    [
      "arn:aws-us-gov:iam::111122223333:role/a+b=c,d.e@f-g_h",
      { partition: "aws-us-gov", account: "111122223333", path: "/", name: "a+b=c,d.e@f-g_h" },
    ],
    [
      `arn:aws:iam::111122223333:role/${"r".repeat(64)}`,
      { partition: "aws", account: "111122223333", path: "/", name: "r".repeat(64) },
    ],
  ];
  for (const [text, want] of accepted) {
    it(`takes apart ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`, () => {
      assert.deepEqual(parseRoleArn(text), { text, ...want });
    });
  }

  const refused: [string, string][] = [
    ["text before the ARN", "xarn:aws:iam::111122223333:role/app"],
    ["text after the name", "arn:aws:iam::111122223333:role/app!"],
    ["a trailing newline", "arn:aws:iam::111122223333:role/app\n"],
    ["an 11-digit account", "arn:aws:iam::11112222333:role/app"],
    ["a 13-digit account", "arn:aws:iam::1111222233334:role/app"],
    ["a name of 65 characters", `arn:aws:iam::111122223333:role/${"r".repeat(65)}`],
    ["an unknown partition", "arn:aws-x:iam::111122223333:role/app"],
    ["a region", "arn:aws:iam:eu-west-1:111122223333:role/app"],
    ["a user, not a role", "arn:aws:iam::111122223333:user/app"],
    ["no name", "arn:aws:iam::111122223333:role/"],
    ["no slash after role", "arn:aws:iam::111122223333:roleapp"],
  ];
  for (const [why, text] of refused) {
    it(`refuses ${why}`, () => {
      assert.equal(parseRoleArn(text), undefined);
    });
  }
});

describe("the ARNs STS and IAM build", () => {
  it("the assumed-role ARN drops the role's path and carries the session name", () => {
    const role = parseRoleArn("arn:aws-cn:iam::111122223333:role/team/app");
    assert.ok(role);
    assert.equal(assumedRoleArn(role, "s1"), "arn:aws-cn:sts::111122223333:assumed-role/app/s1");
  });

  it("the provider ARN keeps the issuer's host, path and trailing slash", () => {
    assert.equal(
      providerArn("aws", "111122223333", "issuer.example.com/c1/"),
      "arn:aws:iam::111122223333:oidc-provider/issuer.example.com/c1/",
    );
  });
});

describe("base32 and role ids", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  // RFC 4648's test vectors, without the padding and the last partial character.
  const vectors: [string, number, string][] = [
    ["f", 8, "M"],
    ["fo", 8, "MZX"],
    ["foo", 8, "MZXW"],
    ["foob", 8, "MZXW6Y"],
    ["fooba", 8, "MZXW6YTB"],
    ["foobar", 20, "MZXW6YTBO"],
    ["foobar", 4, "MZXW"],
    ["", 4, ""],
  ];
  for (const [input, n, want] of vectors) {
    it(`base32("${input}", ${n}) is "${want}"`, () => {
      assert.equal(base32(bytes(input), n), want);
    });
  }

  it("a role id is AROA and 17 base32 characters, the same for the same ARN and different for another", () => {
    const a = parseRoleArn("arn:aws:iam::111122223333:role/app");
    const b = parseRoleArn("arn:aws:iam::111122223333:role/other");
    assert.ok(a && b);
    assert.match(roleId(a), /^AROA[A-Z2-7]{17}$/);
    assert.equal(roleId(a), roleId({ ...a }));
    assert.notEqual(roleId(a), roleId(b));
  });
});
