/**
 * The HCL that `--output terraform` writes (src/core/iam/terraform.ts): literals, keys, values,
 * `=` alignment as `terraform fmt` does it, resource names, and the three blocks. Whole blocks are
 * also checked by `terraform fmt` where terraform is installed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  attributes,
  hclString,
  hclValue,
  providerHcl,
  raw,
  roleHcl,
  terraformIdent,
  trustPolicyHcl,
  type TrustPolicyDocument,
} from "../../src/core/iam/index.js";
import { assertTerraformFmt } from "../support/terraform.js";

const EMPTY: TrustPolicyDocument = { Version: "2012-10-17", Statement: [] };

describe("HCL literals and values", () => {
  it("a string keeps JSON's escapes, and ${ and %{ stay literal ($${ and %%{)", () => {
    assert.equal(hclString('a"b\n'), '"a\\"b\\n"');
    assert.equal(hclString("${aws:username}"), '"$${aws:username}"');
    assert.equal(hclString("x${a}${b}"), '"x$${a}$${b}"');
    assert.equal(hclString("%{if x}%{endif}"), '"%%{if x}%%{endif}"');
    assert.equal(hclString("$ { % {"), '"$ { % {"');
  });

  it("numbers, booleans, null and undefined are HCL's", () => {
    assert.equal(hclValue(7200), "7200");
    assert.equal(hclValue(false), "false");
    assert.equal(hclValue(null), "null");
    assert.equal(hclValue(undefined), "null");
  });

  it("a list of scalars stays on one line; a list holding objects has one item per line", () => {
    assert.equal(hclValue([]), "[]");
    assert.equal(hclValue([1, "s", null, true]), '[1, "s", null, true]');
    assert.equal(hclValue([{ a: 1 }, null], 2), "[\n    {\n      a = 1\n    },\n    null,\n  ]");
    assert.equal(hclValue([[1]]), "[\n  [1],\n]");
  });

  it("object keys are bare identifiers when HCL allows, quoted otherwise", () => {
    assert.equal(
      hclValue({ a_b: 1, "c-d": 2, _e: 3, "1f": 4, "g h": 5, "-i": 6, "x:sub": 7 }),
      [
        "{",
        "  a_b     = 1",
        "  c-d     = 2",
        "  _e      = 3",
        '  "1f"    = 4',
        '  "g h"   = 5',
        '  "-i"    = 6',
        '  "x:sub" = 7',
        "}",
      ].join("\n"),
    );
  });

  it("a nested object is indented two spaces more, its closing brace at the outer indent", () => {
    assert.equal(hclValue({ o: { k: "v" } }, 4), '{\n      o = {\n        k = "v"\n      }\n    }');
  });
});

describe("attribute alignment, as terraform fmt does it", () => {
  it("aligns = across a run of one-line values; a multi-line value breaks the run", () => {
    assert.equal(
      attributes(
        [
          ["a", 1],
          ["bbb", { x: 1 }],
          ["cc", 2],
          ["d", 3],
          ["e", raw("x.y")],
          ["ffff", [{ a: 1 }]],
          ["g", 4],
        ],
        2,
      ),
      [
        "  a = 1",
        "  bbb = {",
        "    x = 1",
        "  }",
        "  cc = 2",
        "  d  = 3",
        "  e  = x.y",
        "  ffff = [",
        "    {",
        "      a = 1",
        "    },",
        "  ]",
        "  g = 4",
      ].join("\n"),
    );
  });

  it("a null value is HCL's null, aligned like any one-line value (not taken for raw HCL)", () => {
    assert.equal(
      attributes(
        [
          ["a", null],
          ["bbb", 1],
        ],
        2,
      ),
      "  a   = null\n  bbb = 1",
    );
    assert.equal(hclValue({ k: null }), "{\n  k = null\n}");
  });

  it("raw HCL goes in as is, an object without hcl is a value", () => {
    assert.equal(attributes([["r", raw("aws_iam_role.x.name")]], 0), "r = aws_iam_role.x.name");
    assert.equal(attributes([["o", { hclx: "y" }]], 0), 'o = {\n  hclx = "y"\n}');
    assert.equal(attributes([], 2), "");
  });
});

describe("resource names and blocks", () => {
  it("a Terraform name keeps letters, digits, _ and -, and starts with a letter or _", () => {
    assert.equal(terraformIdent("app-s3_x"), "app-s3_x");
    assert.equal(terraformIdent("r.1:a b"), "r_1_a_b");
    assert.equal(terraformIdent("1app"), "_1app");
    assert.equal(terraformIdent("-app"), "_-app");
    assert.equal(terraformIdent("_app"), "_app");
    assert.equal(terraformIdent("App"), "App");
  });

  it("the provider block", () => {
    const hcl = providerHcl("https://x/c1", [], ["t1", "t2"]);
    assert.equal(
      hcl,
      'resource "aws_iam_openid_connect_provider" "irsa" {\n  url             = "https://x/c1"\n  client_id_list  = []\n  thumbprint_list = ["t1", "t2"]\n}\n',
    );
    assertTerraformFmt(hcl);
  });

  it("the trust policy as a local value", () => {
    const hcl = trustPolicyHcl(EMPTY);
    assert.equal(
      hcl,
      'locals {\n  irsa_trust_policy = jsonencode({\n    Version   = "2012-10-17"\n    Statement = []\n  })\n}\n',
    );
    assertTerraformFmt(hcl);
  });

  it("the role without a session length, each attachment named after the role and its index", () => {
    const hcl = roleHcl("r.1", EMPTY, ["arn:p1", "arn:p2"], undefined);
    assert.equal(
      hcl,
      [
        'resource "aws_iam_role" "r_1" {',
        '  name = "r.1"',
        "  assume_role_policy = jsonencode({",
        '    Version   = "2012-10-17"',
        "    Statement = []",
        "  })",
        "}",
        "",
        'resource "aws_iam_role_policy_attachment" "r_1_0" {',
        "  role       = aws_iam_role.r_1.name",
        '  policy_arn = "arn:p1"',
        "}",
        "",
        'resource "aws_iam_role_policy_attachment" "r_1_1" {',
        "  role       = aws_iam_role.r_1.name",
        '  policy_arn = "arn:p2"',
        "}",
        "",
      ].join("\n"),
    );
    assertTerraformFmt(hcl);
    assert.match(roleHcl("r", EMPTY, [], 7200), /^ {2}name {17}= "r"\n {2}max_session_duration = 7200\n/m);
  });
});
