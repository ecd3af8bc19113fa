/**
 * MinIO as the stack's STS: unlike a mock, it really verifies web-identity tokens against an
 * OpenID issuer (kube-apiserver here), fetching the discovery document and JWKS over https.
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Ca } from "../adapters/pki/index.js";
import { IrsaError } from "../core/errors.js";
import { httpCall } from "./http.js";
import { locatePeer } from "./peers.js";
import { freePort, onCleanup, startProcess, tempDir, waitUntil, type ManagedProcess } from "./processes.js";

export const REGION = "us-east-1";

/** Loopback is never proxied, whatever the environment says. */
export const NO_PROXY_ENV = { NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" };

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
  /** The binary; default from IRSA_MINIO (locatePeer). */
  readonly bin?: string;
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
  const bin = opts.bin ?? locatePeer("minio");
  const dir = await tempDir("minio");
  const certs = join(dir, "certs");
  await mkdir(join(certs, "CAs"), { recursive: true });
  await mkdir(join(dir, "data"));
  if (opts.ca) await copyFile(opts.ca.certFile, join(certs, "CAs", "stack-ca.crt"));
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  const clientId = opts.clientId ?? "sts.amazonaws.com";
  const rootUser = "irsa-stack-root";
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
    if (e instanceof IrsaError) {
      throw new IrsaError(e.code, `${e.message}\nlast STS answer: ${lastAnswer}`, e.hint, { cause: e });
    }
    throw e;
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
