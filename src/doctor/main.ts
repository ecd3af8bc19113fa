/**
 * `irsa doctor`: gathers the facts of the whole IRSA chain and runs the pure checks on them. The
 * local stack calls runDoctor too, on itself, at its end.
 */
import { diagnose } from "../core/doctor/diagnose.js";
import { formatJson, formatText, type Report } from "../core/doctor/report.js";
import { gatherFacts, type DoctorOptions } from "./gather.js";

export type { DoctorOptions } from "./gather.js";

export const DEFAULT_DOCTOR_OPTIONS = {
  annotationPrefix: "eks.amazonaws.com",
  audience: "sts.amazonaws.com",
  webhookConfiguration: "pod-identity-webhook",
  region: "us-east-1",
} as const;

export async function runDoctor(o: DoctorOptions): Promise<Report> {
  return diagnose(await gatherFacts(o));
}

export { formatJson, formatText };
