/**
 * The EC2 instance identity document through IMDSv2 (what upstream's --compose-role-arn reads):
 * the account ID and region of the node the webhook runs on.
 */
import { IrsaError } from "../core/errors.js";

const IMDS = "http://169.254.169.254";

export interface InstanceIdentity {
  readonly accountId: string;
  readonly region: string;
}

export async function instanceIdentity(timeoutMs = 2000): Promise<InstanceIdentity> {
  const fail = (problem: string): IrsaError =>
    new IrsaError(
      "INPUT_INVALID",
      `--compose-role-arn: cannot read the instance identity document from IMDS: ${problem}`,
      "run on EC2 with IMDSv2 reachable from the pod (hop limit 2), or give the account with --compose-role-arn-account-id",
    );
  try {
    const token = await fetch(`${IMDS}/latest/api/token`, {
      method: "PUT",
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": "60" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!token.ok) throw fail(`token: HTTP ${token.status}`);
    const doc = await fetch(`${IMDS}/latest/dynamic/instance-identity/document`, {
      headers: { "X-aws-ec2-metadata-token": await token.text() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!doc.ok) throw fail(`document: HTTP ${doc.status}`);
    const body = (await doc.json()) as { accountId?: unknown; region?: unknown };
    if (typeof body.accountId !== "string" || typeof body.region !== "string")
      throw fail("no accountId or region");
    return { accountId: body.accountId, region: body.region };
  } catch (e) {
    if (e instanceof IrsaError) throw e;
    throw fail((e as Error).message);
  }
}
