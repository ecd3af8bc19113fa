/**
 * `irsa doctor` on the real chain: kube-apiserver and etcd, the documents published by
 * `irsa issuer serve` on https://127.x.y.z (port 443, a certificate from the cluster's CA), moto as
 * IAM (an OIDC provider and a role), `irsa webhook` registered with a caBundle, and `irsa sts serve`
 * as the STS. A healthy setup passes every check; then one link at a time is broken, and doctor must
 * name that failure and its fix, and nothing else may fail.
 */
import assert from "node:assert/strict";
import { X509Certificate, randomInt } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPORT_SCHEMA, type Finding, type Report } from "../../src/core/doctor/report.js";
import { validate } from "../support/json-schema.js";
import { literal } from "../support/regexp.js";
import {
  awsOk,
  AWS_TEST_ENV,
  createCa,
  createNamespace,
  createServiceAccount,
  deleteMutatingWebhook,
  freePort,
  httpCall,
  irsaOk,
  IRSA_CLI,
  onCleanup,
  registerMutatingWebhook,
  run,
  startIrsaSts,
  startIrsaWebhook,
  startKube,
  startMoto,
  startProcess,
  stopAll,
  tempDir,
  waitUntil,
  issueServingCert,
  type Kube,
  type Moto,
} from "./harness/index.js";

const AUD = "sts.amazonaws.com";
const ACCOUNT = "123456789012"; // moto's default account
const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const WEBHOOK = "irsa-anywhere";

/** A loopback address of its own, so the issuer can serve on 443 with no port in its URL. */
function loopback(): string {
  return `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

let kube: Kube;
let moto: Moto;
let ns: string;
let issuer: string;
let stsEndpoint: string;
let webhookPort: number;
/** IAM's thumbprint of each publisher: the SHA-1 of its leaf, the only certificate it sends. */
const thumbprints = new Map<string, string>();

/** `irsa issuer serve --from keys` on https://HOST:443, like a static publisher that does not follow the cluster. */
async function publish(host: string, key: string): Promise<string> {
  const dir = await tempDir("doctor-issuer");
  const cert = await issueServingCert(kube.ca, `issuer-${host}`, { ipAddresses: [host], dir });
  const metricsPort = await freePort();
  const url = `https://${host}`;
  thumbprints.set(url, new X509Certificate(cert.certPem).fingerprint.replace(/:/g, "").toLowerCase());
  const proc = startProcess({
    name: `issuer-${host}`,
    command: process.execPath,
    args: [IRSA_CLI, "issuer", "serve", "--from", "keys", "--key", key, "--issuer", url, "--port", "443"]
      .concat([
        "--bind-address",
        host,
        "--metrics-port",
        String(metricsPort),
        "--data-dir",
        join(dir, "data"),
      ])
      .concat(["--tls-cert", cert.certFile, "--tls-key", cert.keyFile]),
    logDir: dir,
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    "irsa issuer serve ready",
    async () => (await httpCall(`http://${host}:${metricsPort}/readyz`)).status === 200,
    {
      proc,
      timeoutMs: 30_000,
    },
  );
  return url;
}

function trustPolicy(iss: string, sub: string): string {
  const hostPath = iss.slice("https://".length);
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "App",
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${hostPath}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: AUD } },
      },
    ],
  });
}

/** The AWS CLI on moto, which must succeed. */
const iam = (args: string[]): Promise<unknown> => awsOk(["iam", ...args], { endpoint: moto.endpoint });

const providerArnOf = (url: string): string =>
  `arn:aws:iam::${ACCOUNT}:oidc-provider/${url.slice("https://".length)}`;

async function createProvider(url: string, clientId = AUD): Promise<void> {
  await iam([
    "create-open-id-connect-provider",
    "--url",
    url,
    "--client-id-list",
    clientId,
    "--thumbprint-list",
    thumbprints.get(url.replace(/\/$/, "")) ?? "",
  ]);
}

/** Deletes the provider for `from` and creates one for `to` with `clientId`. */
async function replaceProvider(from: string, to: string, clientId = AUD): Promise<void> {
  await iam(["delete-open-id-connect-provider", "--open-id-connect-provider-arn", providerArnOf(from)]);
  await createProvider(to, clientId);
}

/** The role's trust policy in moto admits `sub` alone. */
async function trustOnly(sub: string): Promise<void> {
  await iam([
    "update-assume-role-policy",
    "--role-name",
    "app",
    "--policy-document",
    trustPolicy(issuer, sub),
  ]);
}

before(async () => {
  const host = loopback();
  kube = await startKube({ keyType: "rsa", apiAudiences: [AUD], issuer: `https://${host}` });
  issuer = await publish(host, kube.saPubFile);
  moto = await startMoto();
  await createProvider(issuer);
  ns = await createNamespace(kube.kubeConfig);
  await iam([
    "create-role",
    "--role-name",
    "app",
    "--assume-role-policy-document",
    trustPolicy(issuer, `system:serviceaccount:${ns}:app`),
  ]);
  await createServiceAccount(kube.kubeConfig, ns, "app", { "eks.amazonaws.com/role-arn": ROLE });
  const webhook = await startIrsaWebhook(kube, { name: "irsa-webhook" });
  webhookPort = webhook.port;
  await register(kube.ca.caBundle, webhookPort);
  const stsDir = await tempDir("doctor-sts");
  stsEndpoint = (await startIrsaSts(await stsConfig(`system:serviceaccount:${ns}:app`, stsDir), stsDir))
    .endpoint;
});
after(stopAll);

/** `irsa sts serve`'s config in `dir`/config: the issuer's provider, and the role admitting `sub`. */
async function stsConfig(sub: string, dir: string): Promise<string> {
  await mkdir(join(dir, "config"));
  const file = join(dir, "config", "sts.json");
  await writeFile(
    file,
    JSON.stringify({
      providers: [{ url: issuer, clientIds: [AUD], caFile: kube.ca.certFile }],
      roles: [{ arn: ROLE, trustPolicy: JSON.parse(trustPolicy(issuer, sub)) as unknown }],
    }),
  );
  return file;
}

async function register(caBundle: string, port: number): Promise<void> {
  await registerMutatingWebhook(kube.kubeConfig, {
    name: WEBHOOK,
    url: `https://127.0.0.1:${port}/mutate`,
    caBundle,
    failurePolicy: "Ignore",
  });
}

/** The webhook configuration again, with this caBundle and port. */
async function reRegister(caBundle: string, port: number): Promise<void> {
  await deleteMutatingWebhook(kube.kubeConfig, WEBHOOK);
  await register(caBundle, port);
}

/** `irsa doctor -o json` on the chain; IAM is moto, or the STS config `stsConfig`. */
async function doctor(
  extra: { issuer?: string; stsConfig?: string } = {},
): Promise<{ code: number; report: Report; stderr: string }> {
  const iamFrom =
    extra.stsConfig === undefined ? ["--endpoint-url", moto.endpoint] : ["--sts-config", extra.stsConfig];
  const r = await run(
    process.execPath,
    [IRSA_CLI, "doctor", "--issuer", extra.issuer ?? issuer, "--ca-file", kube.ca.certFile]
      .concat([
        "--kubeconfig",
        kube.kubeconfigFile,
        "--service-account",
        `${ns}/app`,
        "--webhook-configuration",
        WEBHOOK,
      ])
      .concat(iamFrom, ["--sts-endpoint", stsEndpoint, "--output", "json"]),
    {
      // The issuers listen on all of 127.0.0.0/8.
      env: { ...AWS_TEST_ENV, NO_PROXY: "127.0.0.0/8,localhost", no_proxy: "127.0.0.0/8,localhost" },
    },
  );
  const report = JSON.parse(r.stdout) as Report;
  assert.deepEqual(validate(REPORT_SCHEMA, report), [], "the report follows the README's schema");
  return { code: r.code, report, stderr: r.stderr };
}

const byStatus = (r: Report, s: Finding["status"]): string[] =>
  r.findings.filter((f) => f.status === s).map((f) => f.id);
const finding = (r: Report, id: string): Finding => {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `no finding ${id}`);
  return f;
};

/** Exactly `id` failed, with a cause and fix matching; exit code 1 naming it. */
async function expectOnly(
  run: Promise<{ code: number; report: Report; stderr: string }>,
  id: string,
  detail: RegExp,
  fix: RegExp,
): Promise<Report> {
  const { code, report, stderr } = await run;
  assert.deepEqual(byStatus(report, "fail"), [id], JSON.stringify(report.findings, null, 2));
  const f = finding(report, id);
  assert.match(f.detail, detail);
  assert.match(f.fix ?? "", fix);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`1 check failed: ${id}`));
  assert.equal(report.ok, false);
  return report;
}

test("a healthy chain passes every check, and the token is exchanged at the STS", async () => {
  const { code, report } = await doctor();
  assert.deepEqual(
    report.findings.filter((f) => f.status !== "pass").map((f) => `${f.id}: ${f.status}: ${f.detail}`),
    [],
  );
  assert.equal(code, 0);
  assert.equal(report.ok, true);
  assert.match(finding(report, "issuer-thumbprint").detail, new RegExp(thumbprints.get(issuer) ?? "none"));
  assert.match(finding(report, "iam-trust-policy").detail, /Statement\[0\] \(Sid "App"\)|Sid "App"/);
  assert.match(finding(report, "sts-caller-identity").detail, /assumed-role\/app\/irsa-doctor/);
});

test("an issuer that is not https: issuer-url fails with the https URL to use", async () => {
  const plain = issuer.replace("https://", "http://");
  const r = await expectOnly(
    doctor({ issuer: plain }),
    "issuer-url",
    /must use the https scheme/,
    new RegExp(`use ${issuer.replace(/\./g, "\\.")}`),
  );
  assert.equal(finding(r, "discovery").status, "skip");
});

test("the API server's issuer differs from the published one: cluster-issuer fails naming the flag", async () => {
  const other = await publish(loopback(), kube.saPubFile);
  await createProvider(other);
  const r = await expectOnly(
    doctor({ issuer: other }),
    "cluster-issuer",
    /is not/,
    /--service-account-issuer=https:\/\//,
  );
  assert.match(finding(r, "iam-trust-policy").detail, /cluster-issuer failed/);
});

test("a trailing slash on the IAM provider: iam-provider fails and says the slash is the difference", async () => {
  await replaceProvider(issuer, `${issuer}/`);
  try {
    await expectOnly(
      doctor(),
      "iam-provider",
      /differs only in a trailing slash/,
      /aws iam create-open-id-connect-provider --url https:\/\//,
    );
  } finally {
    await replaceProvider(`${issuer}/`, issuer);
  }
});

test("an audience missing on the provider: iam-audience fails with the command that adds it", async () => {
  // moto answers 500 to add-client-id-to-open-id-connect-provider: the provider is made again instead.
  await replaceProvider(issuer, issuer, "other");
  try {
    await expectOnly(
      doctor(),
      "iam-audience",
      /lack sts\.amazonaws\.com/,
      /add-client-id-to-open-id-connect-provider .* --client-id sts\.amazonaws\.com/,
    );
  } finally {
    await replaceProvider(issuer, issuer);
  }
});

test("a trust policy for another namespace: iam-trust-policy fails naming the statement", async () => {
  await trustOnly("system:serviceaccount:other:app");
  try {
    const r = await expectOnly(
      doctor(),
      "iam-trust-policy",
      /AccessDenied/,
      /irsa iam trust-policy .*update-assume-role-policy --role-name app/,
    );
    assert.match((finding(r, "iam-trust-policy").notes ?? []).join("\n"), /Sid "App".*does not apply/);
  } finally {
    await trustOnly(`system:serviceaccount:${ns}:app`);
  }
});

test("a trust policy for another namespace in the STS config: the fix edits that file, not AWS", async () => {
  const file = await stsConfig("system:serviceaccount:other:app", await tempDir("doctor-sts-other"));
  const r = await expectOnly(
    doctor({ stsConfig: file }),
    "iam-trust-policy",
    /AccessDenied/,
    new RegExp(
      `^irsa iam trust-policy .*, and put what it prints as the trustPolicy of the role ${literal(ROLE)} in the STS config ${literal(file)}; irsa sts serve reloads it$`,
    ),
  );
  assert.match(finding(r, "iam-provider").detail, new RegExp(`\\(the STS config ${literal(file)}\\)`));
  assert.doesNotMatch(finding(r, "iam-trust-policy").fix ?? "", /\baws /);
});

test("a wrong caBundle on the webhook: webhook-tls fails and says which CA to put in", async () => {
  const other = await createCa(await tempDir("doctor-other-ca"), "another CA");
  await reRegister(other.caBundle, webhookPort);
  try {
    await expectOnly(doctor(), "webhook-tls", /caBundle does not verify/, /caBundle/);
  } finally {
    await reRegister(kube.ca.caBundle, webhookPort);
  }
});

test("a serving certificate that has expired: webhook-tls fails and says to renew it", async () => {
  // irsa webhook refuses to start on an expired certificate, so it starts on one that expires soon.
  const notAfter = new Date(Date.now() + 20_000);
  const cert = await issueServingCert(kube.ca, "expiring", {
    notAfter,
    dir: await tempDir("doctor-expiring"),
  });
  const expiring = await startIrsaWebhook(kube, { name: "irsa-webhook-expiring", cert });
  await waitUntil(
    "the serving certificate to expire",
    () => Promise.resolve(Date.now() > notAfter.getTime() + 1000),
    {
      timeoutMs: 60_000,
      intervalMs: 500,
    },
  );
  await reRegister(kube.ca.caBundle, expiring.port);
  try {
    await expectOnly(doctor(), "webhook-tls", /expired at/, /renew the serving certificate/);
  } finally {
    await reRegister(kube.ca.caBundle, webhookPort);
    await expiring.proc.stop();
  }
});

test("a signing key missing from the published JWKS after a rotation: cluster-keys fails", async () => {
  const dir = await tempDir("doctor-rotation");
  await irsaOk(["keys", "generate", "--out", dir]);
  await kube.restart({
    signingKey: join(dir, "sa.key"),
    publicKey: join(dir, "sa.pub"),
    extraPublicKeys: [kube.saPubFile],
  });
  try {
    const r = await expectOnly(
      doctor(),
      "cluster-keys",
      /not in the published JWKS/,
      /irsa issuer sync --from kube/,
    );
    assert.equal(finding(r, "cluster-token").status, "skip");
  } finally {
    await kube.restart({ signingKey: kube.saKeyFile, publicKey: kube.saPubFile });
  }
});
