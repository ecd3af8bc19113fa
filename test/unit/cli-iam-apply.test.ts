/**
 * `irsa iam provider apply` and `irsa iam role apply` without AWS: Terraform output (with
 * --account-id nothing is called) and the refusals that come before any call. The AWS side is
 * tested against moto in test/e2e/iam-apply.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { irsa } from "../support/cli.js";
import { assertTerraformFmt } from "../support/terraform.js";

const TP = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
/** Nothing listens there: a command that called AWS would fail. */
const NO_AWS = ["--endpoint-url", "http://127.0.0.1:9"];

describe("irsa iam provider apply --output terraform", () => {
  it("is an aws_iam_openid_connect_provider with the thumbprint, terraform fmt clean", async () => {
    const r = await irsa(
      "iam",
      "provider",
      "apply",
      "--issuer",
      "https://oidc.example.com/c1",
      "--audience",
      "sts.amazonaws.com",
      "--audience",
      "minio",
      "--thumbprint",
      TP.toUpperCase(),
      "-o",
      "terraform",
      ...NO_AWS,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `resource "aws_iam_openid_connect_provider" "irsa" {
  url             = "https://oidc.example.com/c1"
  client_id_list  = ["sts.amazonaws.com", "minio"]
  thumbprint_list = ["${TP}"]
}
`,
    );
    assertTerraformFmt(r.stdout);
  });
});

describe("irsa iam role apply --output terraform", () => {
  it("is the role with its jsonencode trust policy and attachments, terraform fmt clean", async () => {
    const r = await irsa(
      "iam",
      "role",
      "apply",
      "--name",
      "app-s3",
      "--issuer",
      "https://oidc.example.com/c1",
      "--service-account",
      "team/app",
      "--account-id",
      "111122223333",
      "--policy-arn",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--policy-arn",
      "arn:aws:iam::111122223333:policy/app",
      "--max-session-duration",
      "7200",
      "-o",
      "terraform",
      ...NO_AWS,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^resource "aws_iam_role" "app-s3" \{\n {2}name {17}= "app-s3"\n {2}max_session_duration = 7200\n/,
    );
    assert.match(r.stdout, /Federated = "arn:aws:iam::111122223333:oidc-provider\/oidc\.example\.com\/c1"/);
    assert.match(r.stdout, /"oidc\.example\.com\/c1:sub" = "system:serviceaccount:team:app"/);
    assert.equal(r.stdout.match(/resource "aws_iam_role_policy_attachment"/g)?.length, 2);
    assert.match(
      r.stdout,
      /role {7}= aws_iam_role\.app-s3\.name\n {2}policy_arn = "arn:aws:iam::aws:policy\/ReadOnlyAccess"/,
    );
    assertTerraformFmt(r.stdout);
  });
});

describe("refusals before any AWS call", () => {
  const ROLE = [
    "iam",
    "role",
    "apply",
    "--issuer",
    "https://oidc.example.com/c1",
    "--account-id",
    "111122223333",
  ];
  const PROVIDER = ["iam", "provider", "apply", "--account-id", "111122223333"];
  for (const [args, code, want] of [
    [[...PROVIDER, "--issuer", "http://oidc.example.com/c1"], 1, /https/],
    [[...PROVIDER, "--issuer", "https://oidc.example.com:8443/c1"], 1, /has a port/],
    [[...PROVIDER, "--issuer", "https://oidc.example.com/c1/"], 1, /ends with "\/"/],
    [[...PROVIDER, "--issuer", "https://oidc.example.com/c1", "--thumbprint", "abc"], 1, /not 40 hex digits/],
    [[...PROVIDER, "--issuer", "https://oidc.example.com/c1", "--audience", ""], 1, /--audience is empty/],
    [[...PROVIDER, "--issuer", "https://oidc.example.com/c1", "-o", "yaml"], 2, /text, json, terraform/],
    [[...ROLE, "--service-account", "team/app"], 2, /--name is required/],
    [[...ROLE, "--name", "a/b", "--service-account", "team/app"], 1, /role name "a\/b" is not valid/],
    [[...ROLE, "--name", "app", "--service-account", "team/*"], 1, /--allow-namespace-wildcard/],
    [
      [...ROLE, "--name", "app", "--service-account", "team/app", "--policy-arn", "ReadOnlyAccess"],
      1,
      /not a valid ARN/,
    ],
    [
      [
        ...ROLE,
        "--name",
        "app",
        "--service-account",
        "team/app",
        "--policy-arn",
        "arn:aws:iam::111122223333:role/x",
      ],
      1,
      /not an IAM policy ARN/,
    ],
    [
      [
        ...ROLE,
        "--name",
        "app",
        "--service-account",
        "team/app",
        "--policy-arn",
        "arn:aws-cn:iam::aws:policy/ReadOnlyAccess",
      ],
      1,
      /partition aws-cn, the role in aws/,
    ],
    [
      [...ROLE, "--name", "app", "--service-account", "team/app", "--max-session-duration", "60"],
      1,
      /3600 to 43200/,
    ],
  ] as const) {
    it(`${args.slice(2).join(" ")} -> ${String(want)}`, async () => {
      const r = await irsa(...args, ...NO_AWS);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, want);
      assert.equal(r.stdout, "");
    });
  }

  it("thumbprint refuses an issuer IAM would refuse", async () => {
    const r = await irsa("iam", "thumbprint", "--issuer", "https://oidc.example.com:8443");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has a port/);
  });
});
