/**
 * AWS-side peers: moto (IAM objects; its STS checks nothing), MinIO (an STS that really verifies
 * web-identity tokens against an OpenID issuer), the AWS CLI from the peer venv, and an SDK v3 STS
 * client, all against loopback endpoints.
 */
import { STSClient } from "@aws-sdk/client-sts";
import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { httpCall } from "./http.js";
import { awsCliBin, minioBin, motoServerBin } from "./peers.js";
import type { Ca } from "./pki.js";
import {
  freePort,
  onCleanup,
  run,
  startProcess,
  tempDir,
  waitUntil,
  type ManagedProcess,
  type RunResult,
} from "./proc.js";

export const REGION = "us-east-1";
/** Credentials the local peers accept (moto takes anything). */
export const TEST_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

/** Loopback is never proxied, whatever the environment says. */
const NO_PROXY_ENV = { NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" };

export interface AwsResult extends RunResult {
  /** stdout parsed as JSON (the CLI runs with --output json). */
  json(): unknown;
}

/**
 * Runs the AWS CLI from the peer venv against `endpoint`, with test credentials, no config files
 * and JSON output: `aws(["iam", "list-open-id-connect-providers"], { endpoint })`.
 */
export async function aws(
  args: readonly string[],
  opts: { endpoint: string; env?: Readonly<Record<string, string | undefined>>; credentials?: boolean },
): Promise<AwsResult> {
  const creds =
    opts.credentials === false
      ? { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }
      : {
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        };
  const r = await run(awsCliBin(), [...args, "--endpoint-url", opts.endpoint, "--output", "json"], {
    env: {
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
      ...creds,
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
export async function startMoto(opts: { timeoutMs?: number } = {}): Promise<Moto> {
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
    env: { ...NO_PROXY_ENV, PYTHONUNBUFFERED: "1" },
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    "moto_server",
    async () => (await httpCall(`${endpoint}/moto-api/`, { timeoutMs: 2000 })).status === 200,
    { proc, timeoutMs: opts.timeoutMs ?? 60_000 },
  );
  return { endpoint, proc, startMs: Date.now() - t0, stop: () => proc.stop() };
}

export interface MinioOptions {
  /** The issuer's discovery document URL (MINIO_IDENTITY_OPENID_CONFIG_URL). */
  readonly openidConfigUrl: string;
  /** CA that MinIO must trust to fetch the discovery document and JWKS over https. */
  readonly ca?: Ca;
  /** The audience MinIO requires in tokens (MINIO_IDENTITY_OPENID_CLIENT_ID). Default sts.amazonaws.com. */
  readonly clientId?: string;
  /** A built-in or existing MinIO policy mapped to the role. Default readonly. */
  readonly rolePolicy?: string;
  readonly timeoutMs?: number;
}

export interface Minio {
  /** http://127.0.0.1:<port>: S3 and STS. */
  readonly endpoint: string;
  /** The role ARN MinIO derives for the OpenID provider; pass it as RoleArn. */
  readonly roleArn: string;
  readonly clientId: string;
  readonly rootUser: string;
  readonly rootPassword: string;
  readonly proc: ManagedProcess;
  readonly startMs: number;
  stop(): Promise<void>;
}

/** MinIO's role ARN for an OpenID provider with a role policy: base64url(sha1(client id)). */
export function minioRoleArn(clientId: string, region = REGION): string {
  const id = createHash("sha1").update(clientId).digest("base64url");
  return `arn:minio:iam:${region}::role/${id}`;
}

/**
 * Starts MinIO on loopback with one OpenID provider. Resolves once STS answers a request with a
 * token verdict (MinIO fetches the discovery document in the background after it starts listening).
 */
export async function startMinio(opts: MinioOptions): Promise<Minio> {
  const bin = minioBin();
  const dir = await tempDir("minio");
  const certs = join(dir, "certs");
  await mkdir(join(certs, "CAs"), { recursive: true });
  await mkdir(join(dir, "data"));
  if (opts.ca) await copyFile(opts.ca.certFile, join(certs, "CAs", "e2e-ca.crt"));
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  const clientId = opts.clientId ?? "sts.amazonaws.com";
  const rootUser = "irsa-e2e-root";
  const rootPassword = randomBytes(16).toString("hex");
  const t0 = Date.now();
  const proc = startProcess({
    name: "minio",
    command: bin,
    args: [
      "server",
      "--address",
      `127.0.0.1:${port}`,
      "--console-address",
      `127.0.0.1:${consolePort}`,
      "--certs-dir",
      certs,
      "--quiet",
      join(dir, "data"),
    ],
    logDir: dir,
    env: {
      ...NO_PROXY_ENV,
      HOME: dir,
      MINIO_ROOT_USER: rootUser,
      MINIO_ROOT_PASSWORD: rootPassword,
      MINIO_SITE_REGION: REGION,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      MINIO_IDENTITY_OPENID_CONFIG_URL: opts.openidConfigUrl,
      MINIO_IDENTITY_OPENID_CLIENT_ID: clientId,
      MINIO_IDENTITY_OPENID_ROLE_POLICY: opts.rolePolicy ?? "readonly",
    },
  });
  onCleanup(() => proc.stop());
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await waitUntil(
    "minio /minio/health/live",
    async () => (await httpCall(`${endpoint}/minio/health/live`, { timeoutMs: 2000 })).status === 200,
    { proc, timeoutMs },
  );
  // Until IAM (and so the OpenID provider) is loaded, STS answers "server not initialized".
  const roleArn = minioRoleArn(clientId);
  let lastAnswer = "";
  await waitUntil(
    "minio STS with the OpenID provider loaded",
    async () => {
      const body = new URLSearchParams({
        Action: "AssumeRoleWithWebIdentity",
        Version: "2011-06-15",
        RoleArn: roleArn,
        RoleSessionName: "probe",
        WebIdentityToken: "not-a-jwt",
      }).toString();
      const r = await httpCall(endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        timeoutMs: 5000,
      });
      lastAnswer = `${r.status} ${r.text}`;
      return (
        r.status === 400 && r.text.includes("<Code>InvalidParameterValue</Code>") && !/RoleArn/.test(r.text)
      );
    },
    { proc, timeoutMs },
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\nlast STS answer: ${lastAnswer}`);
  });
  return {
    endpoint,
    roleArn,
    clientId,
    rootUser,
    rootPassword,
    proc,
    startMs: Date.now() - t0,
    stop: () => proc.stop(),
  };
}
