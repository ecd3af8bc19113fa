/** `irsa credentials`: credential_process JSON from a web identity token. Thin: see src/credentials. */
import { requireStr, str, usageError, type CommandBody } from "../command.js";

export const credentials: CommandBody = {
  help: `Usage: irsa credentials --role-arn ARN --token-file FILE [--sts-endpoint URL] [--region R]

Exchanges the web identity token in FILE for temporary credentials (AssumeRoleWithWebIdentity) and
prints them as credential_process JSON (Version 1), for tools that cannot do web identity
themselves. In ~/.aws/config:

  [profile app]
  credential_process = irsa credentials --role-arn arn:aws:iam::111122223333:role/app --token-file /var/run/secrets/eks.amazonaws.com/serviceaccount/token

The answer is cached (mode 0600, directory 0700) and reused until 16 minutes before it expires
(botocore asks again 15 minutes before), so the token file is read and STS called only then.

Options:
  --role-arn ARN          the role to assume                                  required
  --token-file FILE       the token (the projected ServiceAccount token)      required
  --sts-endpoint URL      STS endpoint (e.g. irsa sts serve's)     default the SDK's (AWS_ENDPOINT_URL_STS, regional)
  --region R              STS region               default $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1
  --session-name S        RoleSessionName                           default irsa-credentials
  --duration-seconds N    DurationSeconds (900..43200)              default STS's (3600)
  --cache-dir D           where answers are cached   default $XDG_CACHE_HOME/irsa-anywhere/credentials
  --no-cache              neither read nor write the cache
`,
  options: {
    "role-arn": { type: "string" },
    "token-file": { type: "string" },
    "sts-endpoint": { type: "string" },
    region: { type: "string" },
    "session-name": { type: "string" },
    "duration-seconds": { type: "string" },
    "cache-dir": { type: "string" },
    "no-cache": { type: "boolean" },
  },
  async run(values, _pos, io) {
    const roleArn = requireStr(values, "role-arn", this);
    const tokenFile = requireStr(values, "token-file", this);
    const d = str(values, "duration-seconds");
    if (d !== undefined && (!/^[0-9]+$/.test(d) || Number(d) < 900 || Number(d) > 43200)) {
      throw usageError(`--duration-seconds must be from 900 to 43200, got "${d}"`, this);
    }
    // A fixed default, so that the cache (keyed by it) is found again by the next call.
    const sessionName = str(values, "session-name") ?? "irsa-credentials";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw usageError("--session-name must be 2-64 characters of [\\w+=,.@-]", this);
    const endpoint = str(values, "sts-endpoint");
    if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
      throw usageError(`--sts-endpoint must be an http(s) URL, got "${endpoint}"`, this);
    const { runCredentials } = await import("../../credentials/main.js");
    io.out(
      await runCredentials({
        roleArn,
        tokenFile,
        stsEndpoint: endpoint,
        region:
          str(values, "region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
        sessionName,
        durationSeconds: d === undefined ? undefined : Number(d),
        cacheDir: str(values, "cache-dir"),
        noCache: values["no-cache"] === true,
      }),
    );
    return 0;
  },
};
