/** Builders shared by the doctor's unit tests (doctor.test.ts, doctor-cluster.test.ts). */
import assert from "node:assert/strict";
import type { Fetch } from "../../src/core/doctor/facts.js";
import type { Finding, Report } from "../../src/core/doctor/report.js";
import { ISSUER } from "./sts.js";

/** A document fetched from the issuer over publicly trusted HTTPS, in 12 ms. */
export function doc(
  body: string,
  extra: Partial<{ contentType: string; elapsedMs: number; trust: "public" | "ca-file" }> = {},
): Fetch {
  return {
    ok: true,
    value: {
      url: ISSUER,
      status: 200,
      contentType: "application/json",
      body,
      elapsedMs: 12,
      trust: "public" as const,
      thumbprint: "ab".repeat(20),
      ...extra,
    },
  };
}

/** A check's whole outcome as a user reads it: status, detail, and fix and notes when there. */
export function outcome(r: Report, id: string): Pick<Finding, "status" | "detail" | "fix" | "notes"> {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f !== undefined, `no finding ${id}`);
  return {
    status: f.status,
    detail: f.detail,
    ...(f.fix === undefined ? {} : { fix: f.fix }),
    ...(f.notes === undefined ? {} : { notes: f.notes }),
  };
}
