/**
 * `irsa iam provider apply` and `irsa iam role apply`: create or update the issuer's IAM OIDC
 * provider and an IRSA role, idempotently (a second run reads and writes nothing), or print them as
 * Terraform. Flags are checked with the pure IAM core before any AWS call.
 */
import {
  DEFAULT_AUDIENCE,
  PARTITIONS,
  annotateCommands,
  buildTrustPolicy,
  checkAccountId,
  checkMaxSessionDuration,
  checkPolicyArn,
  checkRoleName,
  checkThumbprint,
  iamIssuer,
  parseArn,
  providerArn,
  providerHcl,
  roleHcl,
  type Change,
} from "../../core/iam/index.js";
import { IrsaError } from "../../core/errors.js";
import type { CliIO } from "../io.js";
import { OUTPUT_OPTION, oneOf, requireStr, str, strs, type CommandBody } from "../command.js";
import { AWS_HELP, TRUST_HELP, TRUST_OPTIONS, awsOptions, trustFlags } from "./iam.js";

const OUTPUTS = ["text", "json", "terraform"] as const;

function printChanges(io: CliIO, changes: readonly Change[], dryRun: boolean): void {
  const say = (t: string): void => {
    if (dryRun) io.out(t);
    else io.err(t);
  };
  if (changes.length === 0) say(dryRun ? "no change\n" : "up to date: no change\n");
  for (const c of changes) say(`${dryRun ? "would call" : "called"} ${c.action}: ${c.detail}\n`);
}

/** The thumbprint from the issuer's jwks_uri host, for a provider created without --thumbprint. */
function thumbprintOf(issuerUrl: string, caFile: string | undefined): () => Promise<string> {
  return async () => {
    const { thumbprint } = await import("../../adapters/oidc/thumbprint.js");
    try {
      return (await thumbprint(issuerUrl, caFile)).thumbprint;
    } catch (e) {
      throw new IrsaError(
        (e as IrsaError).code,
        `cannot compute the thumbprint of ${issuerUrl}: ${(e as Error).message}`,
        "pass --thumbprint (irsa iam thumbprint computes it where the issuer is reachable), or --ca-file",
        { cause: e },
      );
    }
  };
}

export const iamProviderApply: CommandBody = {
  help: `Usage: irsa iam provider apply --issuer URL [--audience A ...] [--thumbprint T ...] [--prune]
                               [--dry-run] [--output text|json|terraform]

Creates the issuer's IAM OIDC provider, or adds the client ids (audiences) and thumbprints it lacks.
Client ids and thumbprints others may rely on are kept unless --prune is given. Idempotent: when
all is there, nothing is written. Prints the provider ARN (with --dry-run, only what would change).

Without --thumbprint, a provider being created gets the issuer's thumbprint (as irsa iam
thumbprint computes it); an existing one keeps its own.

Options:
  --issuer URL          the service-account issuer (https, no port, no trailing "/")    required
  --audience A          a client id the provider accepts, repeatable   default ${DEFAULT_AUDIENCE}
  --thumbprint T        a thumbprint (40 hex), repeatable; IAM keeps at most 5
  --ca-file F           trust this CA too when computing the thumbprint
  --prune               remove client ids (and, with --thumbprint, thumbprints) not given
  --dry-run             read only: print the IAM calls that would be made
  --account-id ID       the AWS account; else from STS GetCallerIdentity
  --partition P         aws, aws-cn or aws-us-gov                      default from the region
  --output F            text (the ARN; changes on stderr), json, or terraform (an
                        aws_iam_openid_connect_provider, without calling AWS)   default text

${AWS_HELP}
`,
  options: {
    issuer: { type: "string" },
    audience: { type: "string", multiple: true },
    thumbprint: { type: "string", multiple: true },
    "ca-file": { type: "string" },
    prune: { type: "boolean" },
    "dry-run": { type: "boolean" },
    "account-id": { type: "string" },
    partition: { type: "string" },
    "endpoint-url": { type: "string" },
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const issuerUrl = requireStr(values, "issuer", this);
    const issuer = iamIssuer(issuerUrl);
    const audiences = strs(values, "audience").length > 0 ? strs(values, "audience") : [DEFAULT_AUDIENCE];
    if (audiences.some((a) => a === "")) {
      throw new IrsaError(
        "INPUT_INVALID",
        "an --audience is empty",
        `pass a client id such as ${DEFAULT_AUDIENCE}`,
      );
    }
    const thumbprints = strs(values, "thumbprint").map(checkThumbprint);
    const output = oneOf(values, "output", OUTPUTS, "text", this);
    const accountGiven = str(values, "account-id");
    const partitionGiven = str(values, "partition");
    const given = {
      accountId: accountGiven === undefined ? undefined : checkAccountId(accountGiven),
      partition:
        partitionGiven === undefined ? undefined : oneOf(values, "partition", PARTITIONS, "aws", this),
    };
    const compute = thumbprintOf(issuerUrl, str(values, "ca-file"));
    if (output === "terraform") {
      io.out(
        providerHcl(
          issuerUrl,
          [...new Set(audiences)],
          thumbprints.length > 0 ? thumbprints : [await compute()],
        ),
      );
      return 0;
    }
    const { IamApi } = await import("../../adapters/aws/iam.js");
    const { applyProvider, resolveAccount } = await import("../../adapters/aws/iam-apply.js");
    const api = new IamApi(awsOptions(values));
    const { accountId, partition } = await resolveAccount(given, awsOptions(values), api);
    const r = await applyProvider(api, {
      issuer,
      partition,
      accountId,
      clientIds: audiences,
      thumbprints,
      prune: values["prune"] === true,
      dryRun: values["dry-run"] === true,
      computeThumbprint: compute,
    });
    if (output === "json") {
      io.out(`${JSON.stringify({ ...r, calls: api.calls, writes: api.writes }, null, 2)}\n`);
      return 0;
    }
    printChanges(io, r.changes, r.dryRun);
    if (!r.dryRun) io.out(`${r.arn}\n`);
    return 0;
  },
};

/** The --policy-arn values, checked; the partition is checked once the role's is known. */
function samePartition(arns: readonly string[], partition: string): void {
  for (const arn of arns) {
    const p = parseArn(arn).partition;
    if (p !== partition) {
      throw new IrsaError(
        "ARN_INVALID",
        `--policy-arn ${arn} is in partition ${p}, the role in ${partition}`,
        `pass a policy of partition ${partition}, or --partition ${p}`,
      );
    }
  }
}

export const iamRoleApply: CommandBody = {
  help: `Usage: irsa iam role apply --name NAME --issuer URL --service-account NS/NAME [...]
                           [--policy-arn ARN ...] [--max-session-duration S] [--dry-run]
                           [--output text|json|terraform]

Creates the IAM role, or updates it, so that its trust policy is the least-privilege one of
irsa iam trust-policy (the issuer's OIDC provider, StringEquals on <issuer>:sub and :aud), attaches
the managed policies given (never detaching others), and prints the kubectl command that points
each ServiceAccount at the role. Idempotent: when all is there, nothing is written. The issuer's
OIDC provider must exist (irsa iam provider apply).

Options:
  --name NAME                   the role name                                                  required
${TRUST_HELP}
  --policy-arn ARN              a managed policy to attach, repeatable
  --max-session-duration S      seconds, 3600 to 43200        default: IAM's 3600 on create, else kept
  --annotation-prefix P         the webhook's annotation prefix          default eks.amazonaws.com
  --dry-run                     read only: print the IAM calls that would be made
  --output F                    text (kubectl lines; changes on stderr), json, or terraform
                                (aws_iam_role and attachments, without changing AWS)   default text

${AWS_HELP}
`,
  options: {
    ...TRUST_OPTIONS,
    name: { type: "string" },
    "policy-arn": { type: "string", multiple: true },
    "max-session-duration": { type: "string" },
    "annotation-prefix": { type: "string" },
    "dry-run": { type: "boolean" },
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const name = checkRoleName(requireStr(values, "name", this));
    const flags = trustFlags(values, this);
    const output = oneOf(values, "output", OUTPUTS, "text", this);
    const msdRaw = str(values, "max-session-duration");
    const maxSessionDuration = msdRaw === undefined ? undefined : checkMaxSessionDuration(msdRaw);
    const prefix = str(values, "annotation-prefix") ?? "eks.amazonaws.com";
    const arns = [...new Set(strs(values, "policy-arn").map(checkPolicyArn))];
    const { IamApi } = await import("../../adapters/aws/iam.js");
    const { applyRole, resolveAccount } = await import("../../adapters/aws/iam-apply.js");
    const api = new IamApi(awsOptions(values));
    const { accountId, partition } = await resolveAccount(flags, awsOptions(values), api);
    samePartition(arns, partition);
    const trustPolicy = buildTrustPolicy({ ...flags, partition, accountId });
    if (output === "terraform") {
      io.out(roleHcl(name, trustPolicy, arns, maxSessionDuration));
      return 0;
    }
    const r = await applyRole(api, {
      name,
      partition,
      accountId,
      providerArn: providerArn(partition, accountId, flags.issuer),
      trustPolicy,
      maxSessionDuration,
      policyArns: arns,
      dryRun: values["dry-run"] === true,
    });
    const kubectl = annotateCommands(r.arn, flags.serviceAccounts, flags.audiences, prefix);
    if (output === "json") {
      io.out(`${JSON.stringify({ ...r, kubectl, calls: api.calls, writes: api.writes }, null, 2)}\n`);
      return 0;
    }
    if (r.missingProvider) {
      io.err(
        `warning: the OIDC provider ${providerArn(partition, accountId, flags.issuer)} does not exist yet\n`,
      );
    }
    printChanges(io, r.changes, r.dryRun);
    if (!r.dryRun) {
      io.err(`role ${r.arn}\n`);
      for (const k of kubectl) io.out(`${k}\n`);
    }
    return 0;
  },
};
