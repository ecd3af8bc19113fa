/**
 * `irsa doctor`: gathers the facts of the whole IRSA chain and runs the pure checks on them. The
 * local stack calls runDoctor too, on itself, at its end.
 */
import { diagnose } from "../core/doctor/diagnose.js";
import type { StackUnderTest } from "../core/doctor/facts.js";
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
export type { StackUnderTest };

/** Doctor on a stack, every group from the stack's own parts; the report and its text. */
export async function checkStack(s: StackUnderTest): Promise<{ report: Report; text: string }> {
  const report = await runDoctor({
    ...DEFAULT_DOCTOR_OPTIONS,
    issuer: s.issuer,
    caFile: s.caFile,
    kubeconfig: s.kubeconfig,
    cluster: true,
    serviceAccount: s.serviceAccount,
    roleArn: undefined,
    webhookConfiguration: s.webhookConfiguration,
    endpointUrl: undefined,
    stsConfig: s.stsConfig,
    stsEndpoint: s.stsEndpoint,
    now: Math.floor(Date.now() / 1000),
  });
  return { report, text: formatText(report) };
}
