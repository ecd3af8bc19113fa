import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { irsa } from "../support/cli.js";
import { assertTerraformFmt } from "../support/terraform.js";

const BASE = [
  "iam",
  "trust-policy",
  "--issuer",
  "https://oidc.example.com/c1",
  "--account-id",
  "111122223333",
];

describe("irsa iam trust-policy", () => {
  it("prints the policy for the accounts given, without calling AWS", async () => {
    const r = await irsa(
      ...BASE,
      "--service-account",
      "team/app",
      "--audience",
      "a1",
      "--partition",
      "aws-cn",
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      Statement: { Principal: { Federated: string }; Condition: unknown }[];
    };
    assert.equal(doc.Statement.length, 1);
    assert.equal(
      doc.Statement[0]?.Principal.Federated,
      "arn:aws-cn:iam::111122223333:oidc-provider/oidc.example.com/c1",
    );
    assert.deepEqual(
      doc.Statement.map((s) => s.Condition),
      [
        {
          StringEquals: {
            "oidc.example.com/c1:sub": "system:serviceaccount:team:app",
            "oidc.example.com/c1:aud": "a1",
          },
        },
      ],
    );
  });

  for (const [args, want] of [
    [["--service-account", "team/*"], /--allow-namespace-wildcard/],
    [["--service-account", "team"], /NAMESPACE\/NAME/],
    [[], /--service-account/],
    [["--service-account", "a/b", "--partition", "aws-mars"], /aws, aws-cn, aws-us-gov/],
    [["--service-account", "a/b", "--account-id", "12"], /12 digits/],
  ] as const) {
    it(`refuses ${args.join(" ") || "no account"}`, async () => {
      const r = await irsa(...BASE, ...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
    });
  }

  for (const [issuer, want] of [
    ["http://oidc.example.com/c1", /https/],
    ["https://oidc.example.com:8443/c1", /port/],
    ["https://oidc.example.com/c1/", /ends with "\/"/],
  ] as const) {
    it(`refuses the issuer ${issuer}`, async () => {
      const r = await irsa(
        "iam",
        "trust-policy",
        "--issuer",
        issuer,
        "--account-id",
        "111122223333",
        "--service-account",
        "a/b",
      );
      assert.equal(r.code, 1);
      assert.match(r.stderr, want);
    });
  }

  it("--output terraform is a locals block that terraform fmt leaves as is", async () => {
    const r = await irsa(
      ...BASE,
      "--service-account",
      "team/app",
      "--service-account",
      "batch/*",
      "--allow-namespace-wildcard",
      "--output",
      "terraform",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^locals \{\n {2}irsa_trust_policy = jsonencode\(\{/);
    assert.match(r.stdout, /"oidc\.example\.com\/c1:sub" = "system:serviceaccount:batch:\*"/);
    assertTerraformFmt(r.stdout);
  });
});
