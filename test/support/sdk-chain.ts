/**
 * Run as a child process: the AWS SDK v3 default credential chain as an application uses it (no
 * credentials in code). With AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ENDPOINT_URL_STS in
 * the environment, the chain exchanges the token at that STS; GetCallerIdentity is then signed with
 * the credentials it got. Prints {identity, credentials} as JSON, or {error} and exits 1.
 */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const client = new STSClient({ region: process.env.AWS_REGION ?? "us-east-1", maxAttempts: 1 });
try {
  const identity = await client.send(new GetCallerIdentityCommand({}));
  const creds = await client.config.credentials();
  process.stdout.write(
    `${JSON.stringify({ identity: { Arn: identity.Arn, UserId: identity.UserId, Account: identity.Account }, accessKeyId: creds.accessKeyId, expiration: creds.expiration })}\n`,
  );
} catch (e) {
  process.stdout.write(
    `${JSON.stringify({ error: { name: (e as Error).name, message: (e as Error).message } })}\n`,
  );
  process.exitCode = 1;
}
