/**
 * `terraform fmt -check` on generated HCL, when terraform is installed: the unit tests check the
 * exact text either way, and this adds terraform's own verdict where it can run.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Asserts that terraform's formatter would leave `hcl` as it is (nothing to assert without terraform). */
export function assertTerraformFmt(hcl: string): void {
  const which = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (which.status !== 0) return;
  const dir = mkdtempSync(join(tmpdir(), "irsa-tf-"));
  writeFileSync(join(dir, "main.tf"), hcl);
  const r = spawnSync("terraform", ["fmt", "-check", "-diff", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}
