/**
 * `irsa iam trust-policy | thumbprint | provider apply | role apply`: the AWS side of IRSA. Thin:
 * parses and checks the flags with the pure IAM core, then loads the AWS adapters only to call AWS.
 */
import {
  DEFAULT_AUDIENCE,
  PARTITIONS,
  buildTrustPolicy,
  checkAccountId,
  iamIssuer,
  parseServiceAccountRef,
  trustPolicyHcl,
  type Partition,
  type ServiceAccountRef,
} from "../../core/iam/index.js";
import {
  OUTPUT_OPTION,
  oneOf,
  requireStr,
  str,
  strs,
  usageError,
  type Command,
  type CommandBody,
  type Options,
  type Values,
} from "../command.js";

export const AWS_HELP = `AWS: the SDK's default credential chain and region (AWS_PROFILE, AWS_REGION, ...).
  --endpoint-url U      another IAM/STS endpoint (an emulator such as moto)`;

export interface TrustFlags {
  readonly issuer: string;
  readonly serviceAccounts: readonly ServiceAccountRef[];
  readonly audiences: readonly string[];
  readonly partition: Partition | undefined;
  readonly accountId: string | undefined;
}

export const TRUST_OPTIONS = {
  issuer: { type: "string" },
  "service-account": { type: "string", multiple: true },
  audience: { type: "string", multiple: true },
  "account-id": { type: "string" },
  partition: { type: "string" },
  "allow-namespace-wildcard": { type: "boolean" },
  "endpoint-url": { type: "string" },
} as const satisfies Options;

export const TRUST_HELP = `  --issuer URL                  the service-account issuer (https, no port, no trailing "/")   required
  --service-account NS/NAME     a ServiceAccount that may assume the role, repeatable           required
                                (NS/* only with --allow-namespace-wildcard)
  --audience A                  the token audience, repeatable             default ${DEFAULT_AUDIENCE}
  --account-id ID               the AWS account; else from STS GetCallerIdentity
  --partition P                 aws, aws-cn or aws-us-gov                  default from the region
  --allow-namespace-wildcard    let NS/* admit every account of namespace NS (StringLike, for
                                that entry alone)`;

export function trustFlags(values: Values, cmd: Command): TrustFlags {
  const issuer = iamIssuer(requireStr(values, "issuer", cmd));
  const wildcard = values["allow-namespace-wildcard"] === true;
  const sas = strs(values, "service-account");
  if (sas.length === 0) throw usageError("--service-account NS/NAME is required", cmd);
  const accountId = str(values, "account-id");
  const partition = str(values, "partition");
  return {
    issuer,
    serviceAccounts: sas.map((s) => parseServiceAccountRef(s, wildcard)),
    audiences: strs(values, "audience").length > 0 ? strs(values, "audience") : [DEFAULT_AUDIENCE],
    partition: partition === undefined ? undefined : oneOf(values, "partition", PARTITIONS, "aws", cmd),
    accountId: accountId === undefined ? undefined : checkAccountId(accountId),
  };
}

export function awsOptions(values: Values): { endpointUrl: string | undefined } {
  return { endpointUrl: str(values, "endpoint-url") };
}

export const iamTrustPolicy: CommandBody = {
  help: `Usage: irsa iam trust-policy --issuer URL --service-account NS/NAME [...] [--audience A]
                             [--account-id ID] [--partition P] [--allow-namespace-wildcard]
                             [--output json|terraform]

Prints the least-privilege trust policy for an IRSA role: the issuer's IAM OIDC provider as the
only principal, sts:AssumeRoleWithWebIdentity as the only action, and StringEquals on both
<issuer>:sub (exactly the accounts given) and <issuer>:aud. Calls AWS (STS GetCallerIdentity) only
when --account-id is not given.

Options:
${TRUST_HELP}
  --output F                    json or terraform (a locals block with jsonencode)  default json

${AWS_HELP}
`,
  options: { ...TRUST_OPTIONS, ...OUTPUT_OPTION },
  async run(values, _pos, io) {
    const flags = trustFlags(values, this);
    const output = oneOf(values, "output", ["json", "terraform"] as const, "json", this);
    const { resolveAccount } = await import("../../adapters/aws/iam-apply.js");
    const { accountId, partition } = await resolveAccount(flags, awsOptions(values));
    const doc = buildTrustPolicy({ ...flags, partition, accountId });
    io.out(output === "terraform" ? trustPolicyHcl(doc) : `${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  },
};

export const iamThumbprint: CommandBody = {
  help: `Usage: irsa iam thumbprint --issuer URL [--ca-file F] [--output text|json]

Reads the issuer's discovery document, connects over TLS to the host of its jwks_uri, and prints
the SHA-1 thumbprint (40 lowercase hex) IAM wants for the OIDC provider: that of the last
certificate the server sends (the top intermediate CA of the chain it presents, or the leaf when it
sends the leaf alone). Certificates from the local trust store are not counted.

When it matters: AWS STS ignores the thumbprint when the jwks_uri host's certificate chains to a
CA that AWS trusts (the public CAs, such as Let's Encrypt, or an S3 or CloudFront endpoint) and
then verifies the certificate itself. The thumbprint is still checked for a private CA or a
certificate AWS does not trust, and some tools (older Terraform providers, CloudFormation) still
require one in the provider: pass this one.

Options:
  --issuer URL     the service-account issuer                                   required
  --ca-file F      also trust this CA (PEM) when fetching and connecting
  --output F       text (the thumbprint) or json (with the chain sent)          default text
`,
  options: { issuer: { type: "string" }, "ca-file": { type: "string" }, ...OUTPUT_OPTION },
  async run(values, _pos, io) {
    const issuer = requireStr(values, "issuer", this);
    iamIssuer(issuer);
    const output = oneOf(values, "output", ["text", "json"] as const, "text", this);
    const { thumbprint } = await import("../../adapters/oidc/thumbprint.js");
    const r = await thumbprint(issuer, str(values, "ca-file"));
    io.out(output === "json" ? `${JSON.stringify(r, null, 2)}\n` : `${r.thumbprint}\n`);
    return 0;
  },
};
