/**
 * `irsa sts serve` and `irsa sts check`: a local STS that checks web identity tokens the way AWS
 * does, and the same checks offline. Thin: parses the flags, then calls src/sts.
 */
import { LOG_LEVELS } from "../../runtime/log.js";
import {
  OUTPUT_OPTION,
  oneOf,
  portOption,
  requireStr,
  str,
  usageError,
  type Command,
  type CommandBody,
  type Values,
} from "../command.js";

const CONFIG_HELP = `Config file (YAML or JSON):
  providers:
    - url: https://oidc.example.com/cluster-1   # the IAM OIDC provider URL (https:// optional)
      clientIds: [sts.amazonaws.com]
      jwksFile: ./jwks.json    # optional: these keys instead of fetching discovery and JWKS
      caFile: ./ca.pem         # optional: also trust this CA when fetching them
  roles:
    - arn: arn:aws:iam::111122223333:role/app
      trustPolicyFile: ./trust.json   # or trustPolicy: {Version: "2012-10-17", Statement: [...]}
      maxSessionDuration: 3600        # 3600..43200, default 3600
Relative paths are taken from the config file's directory.`;

function int(values: Values, name: string, min: number, max: number, cmd: Command): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw usageError(`--${name} must be a whole number from ${min} to ${max}, got "${v}"`, cmd);
  }
  return Number(v);
}

export const stsServe: CommandBody = {
  help: `Usage: irsa sts serve --config FILE [--port N] [--bind-address A] [--tls-cert F --tls-key F]

Serves the AWS STS Query API (Version 2011-06-15): AssumeRoleWithWebIdentity (form POST or GET)
checks the token the way AWS STS does (issuer, discovery, keys, algorithm, signature, lifetime,
audience, the role's trust policy, DurationSeconds, RoleSessionName) and answers with AWS's XML and
error codes; GetCallerIdentity answers for credentials it issued (SigV4-signed). Other actions get
InvalidAction, as from AWS. Every answer carries x-amzn-RequestId, and X-Irsa-Check and
X-Irsa-Check-Reason naming the check that decided (also in the JSON log on stdout).

Point SDKs at it with AWS_ENDPOINT_URL_STS=http://127.0.0.1:PORT (or https with --tls-cert, and the
CA in AWS_CA_BUNDLE / NODE_EXTRA_CA_CERTS). The config and the files it names are re-read when they
change; a bad new config is logged and the old one kept. SIGTERM or SIGINT: drains and exits 0.

Options:
  --config FILE          the providers and roles (below)                      required
  --port N               port (0: any free port)                              default 8080
  --bind-address A       address to listen on                                 default 127.0.0.1
  --tls-cert F           serve HTTPS with this certificate (PEM, with chain)
  --tls-key F            and this key; without both, plain HTTP
  --health-port N        plain-HTTP /healthz and /readyz on this port          default none
  --jwks-ttl-seconds N   how long fetched keys are used before a refetch      default 900
  --clock-skew-seconds N leeway for exp, nbf and iat                          default 60
  --log-level L          debug, info, warn or error                           default info

${CONFIG_HELP}
`,
  options: {
    config: { type: "string" },
    port: { type: "string" },
    "bind-address": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "health-port": { type: "string" },
    "jwks-ttl-seconds": { type: "string" },
    "clock-skew-seconds": { type: "string" },
    "log-level": { type: "string" },
  },
  async run(values) {
    const configFile = requireStr(values, "config", this);
    const cert = str(values, "tls-cert");
    const key = str(values, "tls-key");
    if ((cert === undefined) !== (key === undefined))
      throw usageError("--tls-cert and --tls-key go together", this);
    const { runSts } = await import("../../sts/main.js");
    return runSts({
      configFile,
      host: str(values, "bind-address") ?? "127.0.0.1",
      port: portOption(values, "port", 8080, this),
      healthPort:
        values["health-port"] === undefined ? undefined : portOption(values, "health-port", 0, this),
      tlsCertFile: cert,
      tlsKeyFile: key,
      jwksTtlMs: (int(values, "jwks-ttl-seconds", 0, 86400, this) ?? 900) * 1000,
      clockSkewSeconds: int(values, "clock-skew-seconds", 0, 3600, this) ?? 60,
      logLevel: oneOf(values, "log-level", LOG_LEVELS, "info", this),
    });
  },
};

export const stsCheck: CommandBody = {
  help: `Usage: irsa sts check --config FILE --token FILE --role-arn ARN [--output json]

Runs every check irsa sts serve makes on AssumeRoleWithWebIdentity, offline, and prints each with
pass, fail or skip and the reason; then every trust policy statement, whether it applies and why,
and the statement that decided; then what AWS STS would answer. Exit 0 if STS would issue
credentials, 1 if not. Keys come from each provider's jwksFile, else are fetched (discovery, JWKS).

Options:
  --config FILE            the STS config (below)                            required
  --token FILE             the web identity token (a JWT)                    required
  --role-arn ARN           the role to assume                                required
  --session-name S         RoleSessionName (sts:RoleSessionName)             default irsa-sts-check
  --duration-seconds N     DurationSeconds                                   default 3600
  --now T                  check as of this time (seconds since the epoch)   default now
  --clock-skew-seconds N   leeway for exp, nbf and iat                       default 60
  -o, --output F           text or json                                      default text

${CONFIG_HELP}
`,
  options: {
    config: { type: "string" },
    token: { type: "string" },
    "role-arn": { type: "string" },
    "session-name": { type: "string" },
    "duration-seconds": { type: "string" },
    now: { type: "string" },
    "clock-skew-seconds": { type: "string" },
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const output = oneOf(values, "output", ["text", "json"] as const, "text", this);
    const roleArn = requireStr(values, "role-arn", this);
    const sessionName = str(values, "session-name") ?? "irsa-sts-check";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw usageError("--session-name must be 2-64 characters of [\\w+=,.@-]", this);
    const { runStsCheck, formatCheckJson, formatCheckText } = await import("../../sts/check.js");
    const report = await runStsCheck({
      configFile: requireStr(values, "config", this),
      tokenFile: requireStr(values, "token", this),
      roleArn,
      sessionName,
      durationSeconds: int(values, "duration-seconds", 900, 43200, this),
      now: int(values, "now", 0, 2 ** 40, this),
      clockSkewSeconds: int(values, "clock-skew-seconds", 0, 3600, this) ?? 60,
    });
    io.out(output === "json" ? formatCheckJson(report, roleArn) : formatCheckText(report, roleArn));
    return report.verdict.ok ? 0 : 1;
  },
};
