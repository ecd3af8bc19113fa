/**
 * `irsa doctor` as a command: its exit code, the report on stdout and the summary on stderr, and its
 * usage errors. The checks themselves are tested on facts in doctor.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REPORT_SCHEMA, type Report } from "../../src/core/doctor/report.js";
import { irsa } from "../support/cli.js";
import { validate } from "../support/json-schema.js";

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
});
