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
 *   6. `irsa doctor` checks the whole chain on the stack itself and prints every check.
 *
 * Run: bash scripts/local-stack.sh [--keep]   (--keep: leave it running until Ctrl-C); it builds,
 * then sets the peers' paths (IRSA_KUBE_APISERVER, IRSA_ETCD, IRSA_MINIO) for this script. MinIO
 * is not started here: the e2e tests use it as a second, independent STS.
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
} from "../src/adapters/kubernetes/objects.js";
import { isIrsaError } from "../src/core/errors.js";
import { checkStack } from "../src/doctor/main.js";
import {
  irsaOk,
  locatePeers,
  REGION,
  startIrsaWebhook,
  startIrsaSts,
  startKube,
  stopAll,
} from "../src/stack/index.js";

/** The repository root (this file runs as dist/scripts/local-stack.js): the app resolves the AWS SDK there. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const keep = process.argv.includes("--keep");
const t0 = Date.now();
const step = (text: string) => {
  console.log(`\n[${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}`);
};
const envOf = (c: V1Container | undefined): Record<string, string> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? ""]));

async function main(): Promise<void> {
  // Every peer is found before any starts, so a missing one fails in the first line.
  const peers = locatePeers();
  step("etcd + kube-apiserver with a key from `irsa keys generate`");
  const kube = await startKube({ keyType: "rsa", apiAudiences: ["sts.amazonaws.com"], peers });
  const kid = (await irsaOk(["keys", "kid", kube.saPubFile])).stdout.trim();
  console.log(`  issuer   ${kube.issuer}\n  key kid  ${kid}\n  ready in ${kube.timings.apiserverMs} ms`);
  await allowAnonymousDiscovery(kube.kubeConfig);
  const served = await kube.request("/.well-known/openid-configuration", { anonymous: true });
  const ours = (
    await irsaOk([
      "discovery",
      "--issuer",
      kube.issuer,
      "--jwks-uri",
      `${kube.issuer}/openid/v1/jwks`,
      "--key",
      kube.saPubFile,
    ])
  ).stdout;
  console.log(`  discovery document served anonymously: ${served.text}`);
  if (served.text !== ours.trimEnd()) throw new Error(`kube-apiserver serves a different document: ${ours}`);
  console.log("  identical, byte for byte, to what `irsa discovery` prints");

  step("`irsa webhook`, registered with the stack CA's caBundle");
  const { port, metricsPort } = await startIrsaWebhook(kube, {
    name: "irsa-webhook",
    extraArgs: [`--aws-default-region=${REGION}`],
  });
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa-anywhere",
    url: `https://127.0.0.1:${port}/mutate`,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Ignore",
    reinvocationPolicy: "IfNeeded",
    objectSelector: {
      matchExpressions: [{ key: "eks.amazonaws.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    },
  });
  console.log(`  https://127.0.0.1:${port}/mutate, metrics on http://127.0.0.1:${metricsPort}/metrics`);

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
  console.log(`  ${sts.endpoint}, role ${roleArn} for system:serviceaccount:${ns}:app`);

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
  console.log(`  pod ${ns}/${pod.metadata?.name ?? ""} stored with:`);
  for (const [k, v] of Object.entries(env)) console.log(`    ${k}=${v}`);
  console.log(
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
  console.log(`  iss ${String(claims.iss)}  sub ${String(claims.sub)}  aud ${JSON.stringify(claims.aud)}`);

  step("the app: the AWS SDK's default credential chain with only the pod's env");
  const app = `
    import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
    const sts = new STSClient({});
    const c = await sts.config.credentials();
    const me = await sts.send(new GetCallerIdentityCommand({}));
    console.log(JSON.stringify({ accessKeyId: c.accessKeyId, expiration: c.expiration, arn: me.Arn }));`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--no-warnings", "--input-type=module", "-e", app], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        ...env,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ENDPOINT_URL_STS: sts.endpoint,
        NO_PROXY: "127.0.0.1",
      },
    });
    let text = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => {
      if (code === 0) resolve(text);
      else reject(new Error(`the app failed (exit ${String(code)}): ${err}`));
    });
  });
  const creds = JSON.parse(out) as { accessKeyId: string; expiration: string; arn: string };
  console.log(`  credentials: AccessKeyId ${creds.accessKeyId}, expire ${creds.expiration}`);
  console.log(`  GetCallerIdentity: ${creds.arn}`);

  step("`irsa doctor` on the stack itself (the STS config stands in for IAM)");
  const doctor = await checkStack({
    issuer: kube.issuer,
    caFile: kube.ca.certFile,
    kubeconfig: kube.kubeconfigFile,
    serviceAccount: { namespace: ns, name: "app" },
    webhookConfiguration: "irsa-anywhere",
    stsConfig: join(stsDir, "sts.json"),
    stsEndpoint: sts.endpoint,
  });
  console.log(doctor.text.replace(/^/gm, "  ").trimEnd());
  if (!doctor.report.ok) throw new Error("irsa doctor found a broken link (above)");

  step(`done: the chain works end to end (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (keep) {
    console.log(`  kubeconfig: ${kube.kubeconfigFile}\n  Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => {
        resolve();
      });
    });
  }
}

try {
  await main();
} catch (e) {
  const why = isIrsaError(e) ? e.describe() : e instanceof Error ? e.message : String(e);
  console.error(`\nlocal stack failed: ${why}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
