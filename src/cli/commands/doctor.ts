/**
 * `irsa doctor`: checks the whole IRSA chain the way AWS STS will, and says how to fix each broken
 * link. Thin: parses the flags, then calls src/doctor. A failed check is the error CHECKS_FAILED,
 * which run.ts maps to exit code 1 after the report is printed.
 */
import { IrsaError } from "../../core/errors.js";
import { parseServiceAccountRef } from "../../core/iam/trust-policy.js";
import { OUTPUT_OPTION, oneOf, str, type CommandBody } from "../command.js";

export const doctor: CommandBody = {
  help: `Usage: irsa doctor [--issuer URL] [--kubeconfig F] [--service-account NS/NAME] [options]

Checks every link of IRSA in chain order, as AWS STS will meet them, and prints each check as
pass, warn, fail or skip (with the reason), and for a failure its cause and the fix:
  1 Issuer    https, no port, trailing slash; discovery and JWKS over public HTTPS (or --ca-file),
              "issuer" byte for byte, content types, keys STS accepts, response time, thumbprint
  2 Cluster   the API server's issuer and signing key are the published ones; a TokenRequest token
              for the account passes STS's token checks; --api-audiences has the audience
  3 Webhook   the MutatingWebhookConfiguration, its caBundle against the serving certificate and its
              expiry, a dry-run pod create that comes back with the credentials
  4 IAM       the OIDC provider and its audience and thumbprint, the account's role, and its trust
              policy evaluated by the STS's own evaluator, naming the deciding statement
  5 Exchange  AssumeRoleWithWebIdentity with the token, then GetCallerIdentity
A check whose prerequisite failed is skipped and names it. Exit code 1 if any check failed.

Options:
  --issuer URL                   the published issuer      default the API server's --service-account-issuer
  --ca-file F                    also trust this CA for the issuer's HTTPS (a private CA)
  --kubeconfig F                 the cluster               default $KUBECONFIG, ~/.kube/config, in-cluster
  --no-cluster                   do not read a cluster (groups 2 and 3 skipped)
  --service-account NS/NAME      the account to check (TokenRequest, role annotation, dry-run pod)
  --role-arn ARN                 the role                  default the account's <prefix>/role-arn
  --audience A                   the webhook's --token-audience   default sts.amazonaws.com
                                 (the account's <prefix>/audience annotation wins)
  --annotation-prefix P          the webhook's --annotation-prefix   default eks.amazonaws.com
  --webhook-configuration NAME   the MutatingWebhookConfiguration    default pod-identity-webhook
  --endpoint-url U               IAM at another endpoint (an emulator such as moto); else AWS with
                                 the SDK's default credentials (group 4 skipped when there are none)
  --sts-config F                 the local STS's config (irsa sts serve --config) as IAM: its
                                 provider and role instead of AWS's
  --sts-endpoint U               exchange the token there (the local STS, MinIO); else AWS STS when
                                 IAM is AWS itself
  --region R                     default $AWS_REGION, else us-east-1
  --output F                     text or json (schema in the README)  default text
`,
  options: {
    issuer: { type: "string" },
    "ca-file": { type: "string" },
    kubeconfig: { type: "string" },
    "no-cluster": { type: "boolean" },
    "service-account": { type: "string" },
    "role-arn": { type: "string" },
    audience: { type: "string" },
    "annotation-prefix": { type: "string" },
    "webhook-configuration": { type: "string" },
    "endpoint-url": { type: "string" },
    "sts-endpoint": { type: "string" },
    "sts-config": { type: "string" },
    region: { type: "string" },
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const output = oneOf(values, "output", ["text", "json"] as const, "text", this);
    const sa = str(values, "service-account");
    const { DEFAULT_DOCTOR_OPTIONS, formatJson, formatText, runDoctor } =
      await import("../../doctor/main.js");
    const report = await runDoctor({
      issuer: str(values, "issuer"),
      caFile: str(values, "ca-file"),
      kubeconfig: str(values, "kubeconfig"),
      cluster: values["no-cluster"] !== true,
      serviceAccount: sa === undefined ? undefined : parseServiceAccountRef(sa, false),
      annotationPrefix: str(values, "annotation-prefix") ?? DEFAULT_DOCTOR_OPTIONS.annotationPrefix,
      audience: str(values, "audience") ?? DEFAULT_DOCTOR_OPTIONS.audience,
      roleArn: str(values, "role-arn"),
      webhookConfiguration:
        str(values, "webhook-configuration") ?? DEFAULT_DOCTOR_OPTIONS.webhookConfiguration,
      endpointUrl: str(values, "endpoint-url"),
      stsEndpoint: str(values, "sts-endpoint"),
      stsConfig: str(values, "sts-config"),
      region: str(values, "region") ?? (process.env.AWS_REGION || DEFAULT_DOCTOR_OPTIONS.region),
      now: Math.floor(Date.now() / 1000),
    });
    io.out(output === "json" ? formatJson(report) : formatText(report));
    if (!report.ok) {
      const ids = report.findings.filter((f) => f.status === "fail").map((f) => f.id);
      throw new IrsaError(
        "CHECKS_FAILED",
        `${ids.length} check${ids.length === 1 ? "" : "s"} failed: ${ids.join(", ")}`,
        "each failure above names its fix",
      );
    }
    return 0;
  },
};
