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

/** What a running stack (the local one, `irsa up`) knows about itself. */
export interface StackUnderTest {
  readonly issuer: string;
  readonly caFile: string;
  readonly kubeconfig: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  readonly webhookConfiguration: string;
  /** The local STS: its config stands in for IAM, and its endpoint for AWS STS. */
  readonly stsConfig: string;
  readonly stsEndpoint: string;
}

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
