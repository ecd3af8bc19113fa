/** Applying IRSA's IAM objects: what the pure IAM core plans, done with the IAM adapter. */
import { partitionOfRegion, type Partition } from "../../core/iam/index.js";
import { IamApi, type AwsOptions } from "./iam.js";

/** The account and partition: as given, else the caller's (GetCallerIdentity) and the region's. */
export async function resolveAccount(
  given: { readonly accountId: string | undefined; readonly partition: Partition | undefined },
  aws: AwsOptions,
  api?: IamApi,
): Promise<{ accountId: string; partition: Partition }> {
  const region = aws.region ?? process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"];
  const partition = given.partition ?? partitionOfRegion(region);
  if (given.accountId !== undefined) return { accountId: given.accountId, partition };
  return { accountId: await (api ?? new IamApi(aws)).accountId(), partition };
}
