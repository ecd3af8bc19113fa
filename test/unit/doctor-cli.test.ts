/**
 * `irsa doctor` as a command: its exit code, the report on stdout and the summary on stderr, and its
 * usage errors. The checks themselves are tested on facts in doctor.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPORT_SCHEMA, type Report } from "../../src/core/doctor/report.js";
import { irsa } from "../support/cli.js";
import { validate } from "../support/json-schema.js";
import { ROLE_ARN, TRUST_POLICY } from "../support/sts.js";

describe("irsa doctor (CLI)", () => {
  it("exits 1 naming the failed check, with the report on stdout", async () => {
    const r = await irsa("doctor", "--no-cluster", "--issuer", "http://oidc.example.com", "--output", "json");
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /irsa doctor: 1 check failed: issuer-url\n {2}hint: each failure above names its fix/,
    );
    const report = JSON.parse(r.stdout) as Report;
    assert.deepEqual(validate(REPORT_SCHEMA, report), []);
    assert.equal(
      report.findings.find((x) => x.id === "iam-provider")?.detail,
      "not checked: issuer-url failed",
    );
    assert.equal(report.findings.find((x) => x.id === "service-account")?.detail, "--no-cluster");
  });

  it("refuses an unknown output format and a malformed service account as usage errors", async () => {
    assert.equal((await irsa("doctor", "--no-cluster", "--output", "xml")).code, 2);
    const r = await irsa("doctor", "--no-cluster", "--service-account", "app");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not NAMESPACE\/NAME/);
  });

  it("a --role-arn that is no role ARN skips the IAM group with that reason, from AWS and from the STS config alike", async () => {
    // A provider for the issuer and a valid role, so that only the role ARN given is wrong.
    const issuer = "https://127.0.0.1:1/cluster-1";
    const file = join(mkdtempSync(join(tmpdir(), "irsa-doctor-")), "sts.json");
    writeFileSync(
      file,
      JSON.stringify({
        providers: [{ url: issuer, clientIds: ["sts.amazonaws.com"] }],
        roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY }],
      }),
    );
    const iamGroup = async (...iamSource: string[]) => {
      const r = await irsa(
        "doctor",
        "--no-cluster",
        "--issuer",
        issuer,
        "--role-arn",
        "not-an-arn",
        ...iamSource,
        "--output",
        "json",
      );
      const report = JSON.parse(r.stdout) as Report;
      return report.findings.filter((x) => x.group === "iam").map((x) => `${x.id} ${x.status} ${x.detail}`);
    };
    const reason = "the role ARN not-an-arn is not valid";
    const expected = [
      `iam-provider skip ${reason}`,
      `iam-audience skip ${reason}`,
      "iam-thumbprint skip not checked: discovery failed",
      `iam-role skip ${reason}`,
      "iam-trust-policy skip not checked: discovery failed",
    ];
    assert.deepEqual(await iamGroup("--endpoint-url", "http://127.0.0.1:1"), expected);
    assert.deepEqual(await iamGroup("--sts-config", file), expected);
  });
});
