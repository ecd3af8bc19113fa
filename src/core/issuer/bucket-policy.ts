/**
 * The S3 bucket policy that makes exactly the two issuer documents readable by anyone (AWS STS
 * fetches them without credentials). A policy, not an ACL: with Block Public Access, "block public
 * ACLs" and "ignore public ACLs" stay on; only the two policy settings must allow this policy. Pure.
 */
import { IrsaError } from "../errors.js";
import { DISCOVERY_OBJECT, JWKS_OBJECT } from "./documents.js";

/** S3's bucket naming rules (general purpose buckets). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function checkBucketName(bucket: string, flag = "--bucket"): string {
  if (!BUCKET.test(bucket) || bucket.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `"${bucket}" is not an S3 bucket name`,
      `give ${flag} 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit`,
    );
  }
  return bucket;
}

/** "" or a prefix without leading or trailing slashes, e.g. "clusters/prod". */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? "").replace(/^\/+|\/+$/g, "");
}

/** The object key of `name` under `prefix`. */
export function objectKey(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}/${name}`;
}

export function bucketPolicy(bucket: string, prefix: string | undefined, partition = "aws"): string {
  checkBucketName(bucket);
  const p = normalizePrefix(prefix);
  const doc = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "IrsaIssuerDocumentsPublicRead",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: [DISCOVERY_OBJECT, JWKS_OBJECT].map(
          (n) => `arn:${partition}:s3:::${bucket}/${objectKey(p, n)}`,
        ),
      },
    ],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The public issuer URL of a bucket in virtual-hosted style: https://B.s3.REGION.amazonaws.com[/P]. */
export function bucketIssuerUrl(bucket: string, region: string, prefix: string | undefined): string {
  const p = normalizePrefix(prefix);
  return `https://${bucket}.s3.${region}.amazonaws.com${p === "" ? "" : `/${p}`}`;
}
