/**
 * The local stack: the whole IRSA chain on loopback, from a fresh signing key to AWS credentials.
 *
 *   1. `irsa keys generate`; etcd and kube-apiserver start with that key and an https issuer;
 *   2. `irsa webhook` starts with a certificate from the stack's CA and is registered by URL;
 *   3. a ServiceAccount annotated with a role ARN, and a pod for it, which the webhook mutates;
 *   4. a token for that pod's projected volume (audience, lifetime) from kube-apiserver;
 *   5. `irsa sts serve`, trusting kube-apiserver as its OpenID issuer with a role whose trust policy
 *      admits exactly that ServiceAccount, stands in for AWS STS; an "app" process with only the
 *      pod's env vars gets credentials through the AWS SDK's default chain, then GetCallerIdentity;
 *   6. `irsa doctor` checks the whole chain on the stack itself and prints every check (the doctor
 *      is passed in by the caller: deployables never import each other).
 *
 * `irsa up` runs it (src/cli/commands/up.ts) and bash scripts/local-stack.sh runs `irsa up`. Every
 * process started here is stopped by stopAll(). MinIO is not started here: the e2e tests use it as
 * a second, independent STS.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON. */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import {
  allowAnonymousDiscovery,
  createNamespace,
  createServiceAccount,
  readPod,
  registerMutatingWebhook,
  requestToken,
  waitForWebhook,
} from "../adapters/kubernetes/objects.js";
import type { StackUnderTest } from "../core/doctor/facts.js";
import { IrsaError } from "../core/errors.js";
import { DISCOVERY_PATH, JWKS_PATH } from "../core/oidc/discovery.js";
import { irsaOk } from "./irsa-cli.js";
import { startKube, type Kube } from "./kube.js";
import { REGION } from "./minio.js";
import { locatePeer } from "./peers.js";
import type { ManagedProcess } from "./processes.js";
import { startIrsaSts } from "./sts.js";
import { startIrsaWebhook } from "./webhook.js";

/** The package root (this file runs as dist/src/stack/local-stack.js): the app resolves the AWS SDK there. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface LocalStackOptions {
  /** Where each step's lines go, as they happen. */
  readonly out: (text: string) => void;
  /** `irsa doctor` on the stack, as the last step; the chain fails when it finds a broken link. */
  readonly doctor?: (stack: StackUnderTest) => Promise<{ readonly ok: boolean; readonly text: string }>;
}

/** What the running stack offers, for the summary. */
export interface LocalStack {
  readonly kube: Kube;
  /** The issuer's discovery document and JWKS URLs (served by kube-apiserver, anonymously). */
  readonly discoveryUrl: string;
  readonly jwksUrl: string;
  readonly kid: string;
  readonly webhookUrl: string;
  readonly metricsUrl: string;
  readonly stsEndpoint: string;
  /** `irsa sts serve`'s config: the role and the provider that stand in for IAM. */
  readonly stsConfig: string;
  readonly namespace: string;
  readonly podName: string;
  readonly roleArn: string;
  /** Shell lines (`export ...`) giving a process the pod's AWS settings, its token and the STS. */
  readonly envFile: string;
  readonly callerArn: string;
  /** Every process the stack started, in start order. */
  readonly processes: readonly ManagedProcess[];
  /** Seconds from the start to the end of the chain. */
  readonly seconds: number;
}

const envOf = (c: V1Container | undefined): Record<string, string> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? ""]));

/** A value quoted for a POSIX shell. */
const shQuote = (v: string): string => `'${v.replaceAll("'", `'\\''`)}'`;

/** Runs the chain, printing each step as it happens; the processes keep running until stopAll(). */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const t0 = Date.now();
  const step = (text: string) => {
    opts.out(`\n[${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}\n`);
  };
  const say = (text: string) => {
    opts.out(`${text}\n`);
  };
  // Every peer is found before any starts, so a missing one fails in the first line.
  const peers = { kubeApiserver: locatePeer("kubeApiserver"), etcd: locatePeer("etcd") };
  step("etcd + kube-apiserver with a key from `irsa keys generate`");
  const kube = await startKube({ keyType: "rsa", apiAudiences: ["sts.amazonaws.com"], peers });
  const kid = (await irsaOk(["keys", "kid", kube.saPubFile])).stdout.trim();
  say(`  issuer   ${kube.issuer}\n  key kid  ${kid}\n  ready in ${kube.timings.apiserverMs} ms`);
  await allowAnonymousDiscovery(kube.kubeConfig);
  const served = await kube.request(DISCOVERY_PATH, { anonymous: true });
  const ours = (
    await irsaOk([
      "discovery",
      "--issuer",
      kube.issuer,
      "--jwks-uri",
      `${kube.issuer}${JWKS_PATH}`,
      "--key",
      kube.saPubFile,
    ])
  ).stdout;
  say(`  discovery document served anonymously: ${served.text}`);
  if (served.text !== ours.trimEnd()) {
    throw new IrsaError(
      "KUBE_API_UNEXPECTED",
      `kube-apiserver serves a different discovery document than \`irsa discovery\` prints: ${ours}`,
      "the kube-apiserver binary may be another version than the one the project is tested with",
    );
  }
  say("  identical, byte for byte, to what `irsa discovery` prints");

  step("`irsa webhook`, registered with the stack CA's caBundle");
  const webhook = await startIrsaWebhook(kube, {
    name: "irsa-webhook",
    extraArgs: [`--aws-default-region=${REGION}`],
  });
  const webhookUrl = `https://127.0.0.1:${webhook.port}/mutate`;
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa-anywhere",
    url: webhookUrl,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Ignore",
    reinvocationPolicy: "IfNeeded",
    objectSelector: {
      matchExpressions: [{ key: "eks.amazonaws.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    },
  });
  const metricsUrl = `http://127.0.0.1:${webhook.metricsPort}/metrics`;
  say(`  ${webhookUrl}, metrics on ${metricsUrl}`);

  step("`irsa sts serve` as the STS, trusting the cluster's issuer");
  const ns = await createNamespace(kube.kubeConfig, "demo");
  const roleArn = "arn:aws:iam::111122223333:role/demo-app";
  const hostPath = kube.issuer.slice("https://".length);
  const stsDir = join(kube.dir, "sts");
  await mkdir(stsDir);
  const stsConfig = {
    providers: [{ url: kube.issuer, clientIds: ["sts.amazonaws.com"], caFile: kube.ca.certFile }],
    roles: [
      {
        arn: roleArn,
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DemoApp",
              Effect: "Allow",
              Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${hostPath}` },
              Action: "sts:AssumeRoleWithWebIdentity",
              Condition: {
                StringEquals: {
                  [`${hostPath}:sub`]: `system:serviceaccount:${ns}:app`,
                  [`${hostPath}:aud`]: "sts.amazonaws.com",
                },
              },
            },
          ],
        },
      },
    ],
  };
  await writeFile(join(stsDir, "sts.json"), JSON.stringify(stsConfig, null, 2));
  const sts = await startIrsaSts(join(stsDir, "sts.json"), kube.dir);
  say(`  ${sts.endpoint}, role ${roleArn} for system:serviceaccount:${ns}:app`);

  step("a ServiceAccount with a role, and a pod for it");
  await createServiceAccount(kube.kubeConfig, ns, "app", { "eks.amazonaws.com/role-arn": roleArn });
  const stored: V1Pod = await waitForWebhook(
    kube.kubeConfig,
    ns,
    (p) => envOf(p.spec?.containers[0]).AWS_ROLE_ARN === roleArn,
    {
      makePod: () => ({
        metadata: { name: `app-${Date.now().toString(36)}` },
        spec: { serviceAccountName: "app", containers: [{ name: "app", image: "example.com/app:1" }] },
      }),
    },
  );
  const pod = await readPod(kube.kubeConfig, ns, stored.metadata?.name ?? "");
  const env = envOf(pod.spec?.containers[0]);
  const volume = pod.spec?.volumes?.find((v) => v.name === "aws-iam-token");
  const projected = volume?.projected?.sources?.[0]?.serviceAccountToken;
  say(`  pod ${ns}/${pod.metadata?.name ?? ""} stored with:`);
  for (const [k, v] of Object.entries(env)) say(`    ${k}=${v}`);
  say(
    `    volume aws-iam-token: audience ${projected?.audience ?? "?"}, ${projected?.expirationSeconds ?? "?"} s`,
  );

  step("the kubelet's part: a token for the pod's projected volume");
  const { token } = await requestToken(kube.kubeConfig, ns, "app", {
    audiences: [projected?.audience ?? "sts.amazonaws.com"],
    expirationSeconds: projected?.expirationSeconds ?? 86400,
    boundPod: { name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
  });
  const tokenFile = join(kube.dir, "token");
  await writeFile(tokenFile, token, { mode: 0o600 });
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;
  say(`  iss ${String(claims.iss)}  sub ${String(claims.sub)}  aud ${JSON.stringify(claims.aud)}`);

  step("the app: the AWS SDK's default credential chain with only the pod's env");
  const appEnv: Record<string, string> = {
    ...env,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ENDPOINT_URL_STS: sts.endpoint,
    NO_PROXY: "127.0.0.1",
  };
  const envFile = join(kube.dir, "app.env");
  await writeFile(
    envFile,
    [
      "# The pod's AWS settings, its token and the local STS: . this file, then run any AWS SDK or CLI.",
      "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE",
      ...Object.entries(appEnv).map(([k, v]) => `export ${k}=${shQuote(v)}`),
      "",
    ].join("\n"),
  );
  const creds = await runApp(appEnv);
  say(`  credentials: AccessKeyId ${creds.accessKeyId}, expire ${creds.expiration}`);
  say(`  GetCallerIdentity: ${creds.arn}`);

  if (opts.doctor !== undefined) {
    step("`irsa doctor` on the stack itself (the STS config stands in for IAM)");
    const doctor = await opts.doctor({
      issuer: kube.issuer,
      caFile: kube.ca.certFile,
      kubeconfig: kube.kubeconfigFile,
      serviceAccount: { namespace: ns, name: "app" },
      webhookConfiguration: "irsa-anywhere",
      stsConfig: join(stsDir, "sts.json"),
      stsEndpoint: sts.endpoint,
    });
    say(doctor.text.replace(/^/gm, "  ").trimEnd());
    if (!doctor.ok) {
      throw new IrsaError(
        "COMMAND_FAILED",
        "irsa doctor found a broken link (above)",
        "its fix is printed with it",
      );
    }
  }

  const seconds = (Date.now() - t0) / 1000;
  step(`done: the chain works end to end (${seconds.toFixed(1)} s)`);
  return {
    kube,
    discoveryUrl: `${kube.issuer}${DISCOVERY_PATH}`,
    jwksUrl: `${kube.issuer}${JWKS_PATH}`,
    kid,
    webhookUrl,
    metricsUrl,
    stsEndpoint: sts.endpoint,
    stsConfig: join(stsDir, "sts.json"),
    namespace: ns,
    podName: pod.metadata?.name ?? "",
    roleArn,
    envFile,
    callerArn: creds.arn,
    processes: [kube.etcd, kube.apiserver, webhook.proc, sts.proc],
    seconds,
  };
}

/** A Node process with only `env` (and PATH) that gets credentials through the AWS SDK's default chain. */
async function runApp(
  env: Record<string, string>,
): Promise<{ accessKeyId: string; expiration: string; arn: string }> {
  const app = `
    import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
    const sts = new STSClient({});
    const c = await sts.config.credentials();
    const me = await sts.send(new GetCallerIdentityCommand({}));
    console.log(JSON.stringify({ accessKeyId: c.accessKeyId, expiration: c.expiration, arn: me.Arn }));`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--no-warnings", "--input-type=module", "-e", app], {
      cwd: PACKAGE_ROOT,
      env: { PATH: process.env.PATH, ...env },
    });
    let text = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(text);
      else
        reject(
          new IrsaError(
            "COMMAND_FAILED",
            `the app failed (exit ${String(code)}): ${err}`,
            "the STS log (irsa-sts.log) in the stack's directory says why it refused the token",
          ),
        );
    });
  });
  return JSON.parse(out) as { accessKeyId: string; expiration: string; arn: string };
}
