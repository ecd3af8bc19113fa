/**
 * AWS-side peers: moto (IAM objects; its STS checks nothing), MinIO (an STS that really verifies
 * web-identity tokens against an OpenID issuer: the local stack's, src/stack/minio.ts), the AWS CLI
 * from the peer venv, and an SDK v3 STS client, all against loopback endpoints.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { s3Client } from "../../../src/adapters/aws/s3.js";
import { httpCall } from "../../../src/stack/http.js";
import {
  NO_PROXY_ENV,
  REGION,
  startMinio as startStackMinio,
  type Minio,
  type MinioOptions,
} from "../../../src/stack/minio.js";
import {
  freePort,
  onCleanup,
  run,
  startProcess,
  tempDir,
  waitUntil,
  type ManagedProcess,
  type RunResult,
} from "../../../src/stack/processes.js";
import { awsCliBin, minioBin, motoServerBin } from "./peers.js";

export { minioRoleArn, REGION, type Minio, type MinioOptions } from "../../../src/stack/minio.js";

/** The product's S3 client on MinIO, as its root user. */
export function minioS3(minio: Minio): S3Client {
  return s3Client({
    endpointUrl: minio.endpoint,
    region: REGION,
    credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
  });
}

/** Credentials the local peers accept (moto takes anything). */
export const TEST_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

/** The stack's MinIO, with the binary the peer build script says it built. */
export async function startMinio(opts: MinioOptions): Promise<Minio> {
  return startStackMinio({ bin: minioBin(), ...opts });
}

export interface AwsResult extends RunResult {
  /** stdout parsed as JSON (the CLI runs with --output json). */
  json(): unknown;
}

/**
 * The environment of an AWS CLI or SDK process under test: the test credentials and region, and no
 * config file, profile, session token, web identity or instance metadata to fall back on.
 */
export const AWS_TEST_ENV: Readonly<Record<string, string | undefined>> = {
  ...NO_PROXY_ENV,
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_DEFAULT_REGION: REGION,
  AWS_REGION: REGION,
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_ROLE_ARN: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
};

/**
 * Runs the AWS CLI from the peer venv against `endpoint`, with test credentials, no config files
 * and JSON output: `aws(["iam", "list-open-id-connect-providers"], { endpoint })`.
 */
export async function aws(
  args: readonly string[],
  opts: { endpoint: string; env?: Readonly<Record<string, string | undefined>>; credentials?: boolean },
): Promise<AwsResult> {
  const r = await run(awsCliBin(), [...args, "--endpoint-url", opts.endpoint, "--output", "json"], {
    env: {
      ...AWS_TEST_ENV,
      ...(opts.credentials === false
        ? { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }
        : {}),
      ...opts.env,
    },
  });
  return {
    ...r,
    json() {
      return JSON.parse(r.stdout) as unknown;
    },
  };
}

/** aws(), which must succeed: its JSON output (undefined when it prints nothing), else an error with its stderr. */
export async function awsOk(args: readonly string[], opts: { endpoint: string }): Promise<unknown> {
  const r = await aws(args, opts);
  if (r.code !== 0) throw new Error(`aws ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim() === "" ? undefined : r.json();
}

/** An SDK v3 STS client for a local endpoint (AssumeRoleWithWebIdentity is unsigned anyway). */
export function stsClient(endpoint: string): STSClient {
  return new STSClient({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}

export interface Moto {
  /** http://127.0.0.1:<port>: every AWS service moto emulates. */
  readonly endpoint: string;
  readonly proc: ManagedProcess;
  readonly startMs: number;
  stop(): Promise<void>;
}

/** Starts `moto_server` on loopback. */
export async function startMoto(
  opts: { timeoutMs?: number; env?: Readonly<Record<string, string>> } = {},
): Promise<Moto> {
  const bin = motoServerBin();
  const dir = await tempDir("moto");
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  const proc = startProcess({
    name: "moto",
    command: bin,
    args: ["-H", "127.0.0.1", "-p", String(port)],
    logDir: dir,
    env: { ...NO_PROXY_ENV, PYTHONUNBUFFERED: "1", ...opts.env },
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    "moto_server",
    async () => (await httpCall(`${endpoint}/moto-api/`, { timeoutMs: 2000 })).status === 200,
    { proc, timeoutMs: opts.timeoutMs ?? 60_000 },
  );
  return { endpoint, proc, startMs: Date.now() - t0, stop: () => proc.stop() };
}
