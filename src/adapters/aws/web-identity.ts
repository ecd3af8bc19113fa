/** AssumeRoleWithWebIdentity through the AWS SDK v3 STS client (unsigned, as every SDK sends it). */
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { IrsaError } from "../../core/errors.js";

export interface WebIdentityExchange {
  readonly roleArn: string;
  readonly token: string;
  readonly sessionName: string;
  readonly durationSeconds: number | undefined;
  /** An STS endpoint URL; undefined: the SDK's own resolution (AWS_ENDPOINT_URL_STS, regional). */
  readonly endpoint: string | undefined;
  readonly region: string;
}

export interface ExchangedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string | undefined;
}

export async function exchangeWebIdentity(x: WebIdentityExchange): Promise<ExchangedCredentials> {
  const client = new STSClient({
    region: x.region,
    ...(x.endpoint ? { endpoint: x.endpoint } : {}),
    maxAttempts: 2,
  });
  try {
    const r = await client.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: x.roleArn,
        RoleSessionName: x.sessionName,
        WebIdentityToken: x.token,
        DurationSeconds: x.durationSeconds,
      }),
    );
    const c = r.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date)) {
      throw new IrsaError(
        "FETCH_FAILED",
        "STS answered without complete credentials",
        "check the STS endpoint",
      );
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
      assumedRoleArn: r.AssumedRoleUser?.Arn,
    };
  } catch (e) {
    if (e instanceof IrsaError) throw e;
    const name = (e as Error).name;
    throw new IrsaError(
      "FETCH_FAILED",
      `STS refused AssumeRoleWithWebIdentity for ${x.roleArn}: ${name}: ${(e as Error).message}`,
      name === "AccessDenied"
        ? "the role's trust policy does not admit this token: try irsa sts check"
        : "check the token (irsa sts check) and the STS endpoint",
      { cause: e },
    );
  } finally {
    client.destroy();
  }
}

/** GetCallerIdentity at `endpoint` with credentials from an exchange: who STS says they are. */
export async function callerIdentity(
  creds: ExchangedCredentials,
  endpoint: string | undefined,
  region: string,
): Promise<{ arn: string; account: string }> {
  const client = new STSClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
    maxAttempts: 2,
  });
  try {
    const r = await client.send(new GetCallerIdentityCommand({}));
    return { arn: r.Arn ?? "", account: r.Account ?? "" };
  } finally {
    client.destroy();
  }
}
