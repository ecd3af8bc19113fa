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

  async put(key: string, body: string, contentType: string, cacheControl: string | undefined): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          CacheControl: cacheControl,
        }),
      );
    } catch (e) {
      throw failure(e, "write", `s3://${this.bucket}/${key}`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
