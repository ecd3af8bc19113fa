/**
 * S3 (or an S3-compatible store) as a place to publish objects: the AWS SDK v3 with its default
 * credential chain and region, optionally another endpoint and path-style addressing. No ACL is
 * ever set: access is the bucket policy's business (irsa issuer print-bucket-policy).
 */
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { IrsaError } from "../../core/errors.js";

export interface S3Options {
  /** --endpoint-url: an S3-compatible store (MinIO, Ceph, R2...). */
  readonly endpointUrl?: string | undefined;
  /** Path-style addressing (bucket in the path); the default with an endpoint URL. */
  readonly forcePathStyle?: boolean | undefined;
  /** Overrides the default chain's region (AWS_REGION, the profile). */
  readonly region?: string | undefined;
  /** Explicit credentials (tests); otherwise the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly requestTimeoutMs?: number;
}

export function s3Client(o: S3Options): S3Client {
  const config: S3ClientConfig = {
    forcePathStyle: o.forcePathStyle ?? o.endpointUrl !== undefined,
    maxAttempts: 2,
    requestHandler: { requestTimeout: o.requestTimeoutMs ?? 10_000, connectionTimeout: 5_000 },
  };
  if (o.endpointUrl !== undefined) config.endpoint = o.endpointUrl;
  // The SDK needs some region even for an S3-compatible endpoint that ignores it.
  const region = o.region ?? process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"];
  if (region !== undefined && region !== "") config.region = region;
  else if (o.endpointUrl !== undefined) config.region = "us-east-1";
  if (o.credentials !== undefined) config.credentials = { ...o.credentials };
  return new S3Client(config);
}

export interface S3Object {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly etag: string | undefined;
}

function status(e: unknown): number | undefined {
  return e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
}

function describe(e: unknown): string {
  const code = (e as { name?: string; code?: string }).name ?? "Error";
  const st = status(e);
  const msg = (e as Error).message;
  return `${code}${st === undefined ? "" : ` (HTTP ${st})`}${msg && msg !== code ? `: ${msg}` : ""}`;
}

function failure(e: unknown, verb: string, where: string): IrsaError {
  const st = status(e);
  if (st === 401 || st === 403) {
    return new IrsaError(
      "TARGET_WRITE_REFUSED",
      `S3 refused to ${verb} ${where}: ${describe(e)}`,
      "allow s3:GetObject and s3:PutObject on the bucket's issuer objects for the credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID, the pod's role)",
      { cause: e },
    );
  }
  if (st === undefined || st >= 500 || st === 404) {
    return new IrsaError(
      "TARGET_UNREACHABLE",
      `cannot ${verb} ${where}: ${describe(e)}`,
      st === 404
        ? "check that the bucket exists (and --endpoint-url, --region)"
        : "check --endpoint-url, the region and the network; the next sync retries",
      { cause: e },
    );
  }
  return new IrsaError("TARGET_WRITE_REFUSED", `S3 refused to ${verb} ${where}: ${describe(e)}`, undefined, {
    cause: e,
  });
}

/**
 * A conditional write's precondition: replace the object only while its ETag is `ifMatch`, or
 * create it only while it does not exist (`ifNoneMatch: "*"`). AWS S3 has honoured both since 2024.
 */
export type PutCondition = { readonly ifMatch: string } | { readonly ifNoneMatch: "*" };

/** Another writer changed the object since it was read: the precondition failed. */
function conflict(e: unknown, where: string, cond: PutCondition): IrsaError | undefined {
  const st = status(e);
  const name = (e as { name?: string }).name;
  // 412: the precondition failed; 409: a concurrent conditional write won; 404 with If-Match:
  // the object was deleted meanwhile.
  const lost = st === 412 || st === 409 || ("ifMatch" in cond && (name === "NoSuchKey" || st === 404));
  if (!lost) return undefined;
  return new IrsaError(
    "TARGET_CONFLICT",
    `${where} changed since it was read (another writer): ${describe(e)}`,
    "the sync reads it again and merges; another replica is publishing to the same place",
    { cause: e },
  );
}

export class S3Store {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  /** The object, or undefined when it does not exist. */
  async get(key: string): Promise<S3Object | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = r.Body === undefined ? new Uint8Array() : await r.Body.transformToByteArray();
      return { body: Buffer.from(bytes), contentType: r.ContentType, etag: r.ETag };
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === "NoSuchKey" || (status(e) === 404 && name !== "NoSuchBucket")) return undefined;
      throw failure(e, "read", `s3://${this.bucket}/${key}`);
    }
  }

  /** Writes the object, under `condition` when given; resolves to the new ETag. */
  async put(
    key: string,
    body: string,
    contentType: string,
    cacheControl: string | undefined,
    condition?: PutCondition,
  ): Promise<string | undefined> {
    const where = `s3://${this.bucket}/${key}`;
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          CacheControl: cacheControl,
          ...(condition === undefined
            ? {}
            : "ifMatch" in condition
              ? { IfMatch: condition.ifMatch }
              : { IfNoneMatch: condition.ifNoneMatch }),
        }),
      );
      return r.ETag;
    } catch (e) {
      const lost = condition === undefined ? undefined : conflict(e, where, condition);
      if (lost !== undefined) throw lost;
      if (condition !== undefined && status(e) === 501) {
        throw new IrsaError(
          "TARGET_WRITE_REFUSED",
          `${where}: the store does not support conditional writes (If-Match, If-None-Match): ${describe(e)}`,
          "use AWS S3 or a store that supports them (MinIO does); without them two replicas could drop each other's keys",
          { cause: e },
        );
      }
      throw failure(e, "write", where);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
