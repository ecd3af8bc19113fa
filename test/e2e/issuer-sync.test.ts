/**
 * `irsa issuer sync` from a real kube-apiserver to MinIO (S3) and to a directory: the objects'
 * bytes are what kube-apiserver serves, with the right content type; the bucket policy of
 * print-bucket-policy makes exactly the two objects readable anonymously; faults (S3 unreachable,
 * write refused, API server unreachable) exit 1 naming the cause and leave the published bytes
 * intact; two --watch replicas on one bucket agree and do not rewrite an unchanged target.
 */
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  allowAnonymousDiscovery,
  freePort,
  httpCall,
  irsaOk,
  minioS3,
  requireIrsaCli,
  run,
  startKube,
  startMinio,
  startProcess,
  stopAll,
  tempDir,
  waitUntil,
  type Kube,
  type Minio,
} from "./harness/index.js";

after(stopAll);

let kube: Kube;
let minio: Minio;
let s3: S3Client;
let dir: string;
const BUCKET = "irsa-oidc";

function s3Env(m: Minio, secret = m.rootPassword): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: m.rootUser,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PROFILE: undefined,
    NO_PROXY: "127.0.0.1,localhost",
  };
}

function sync(args: readonly string[], env = s3Env(minio)) {
  return run(process.execPath, [requireIrsaCli(), "issuer", "sync", ...args], { env });
}

async function object(key: string) {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return {
    body: Buffer.from(await (r.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array()))),
    contentType: r.ContentType,
    cacheControl: r.CacheControl,
  };
}

before(async () => {
  kube = await startKube({ keyType: "rsa" });
  await allowAnonymousDiscovery(kube.kubeConfig);
  minio = await startMinio({
    openidConfigUrl: `${kube.issuer}/.well-known/openid-configuration`,
    ca: kube.ca,
  });
  s3 = minioS3(minio);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  dir = await tempDir("issuer-dir");
});

describe("irsa issuer sync from kube-apiserver", () => {
  const base = () => ["--kubeconfig", kube.kubeconfigFile, "--public-issuer", kube.issuer];

  test("to S3 and a directory: kube-apiserver's bytes, application/json, then nothing the second time", async () => {
    const args = [
      ...base(),
      "--to",
      `s3://${BUCKET}/c1`,
      "--to",
      `dir://${dir}`,
      "--endpoint-url",
      minio.endpoint,
    ];
    const first = await sync(args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout.match(
        /wrote irsa-issuer-state\.json, openid\/v1\/jwks, \.well-known\/openid-configuration/g,
      )?.length,
      2,
      first.stdout,
    );
    for (const [path, key] of [
      ["/.well-known/openid-configuration", "c1/.well-known/openid-configuration"],
      ["/openid/v1/jwks", "c1/openid/v1/jwks"],
    ] as const) {
      const served = await kube.request(path);
      assert.equal(served.status, 200);
      const o = await object(key);
      assert.deepEqual(o.body, served.body, key);
      assert.equal(o.contentType, "application/json");
      assert.equal(o.cacheControl, "public, max-age=60");
      assert.deepEqual(await readFile(join(dir, key.slice(3))), served.body);
    }
    const second = await sync(args);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.match(/unchanged/g)?.length, 2, second.stdout);
  });

  test("the printed bucket policy makes exactly the two documents anonymously readable", async () => {
    const policy = await irsaOk(["issuer", "print-bucket-policy", "--bucket", BUCKET, "--prefix", "c1"]);
    await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy.stdout }));
    const anon = (key: string) => httpCall(`${minio.endpoint}/${BUCKET}/${key}`, { timeoutMs: 5000 });
    assert.equal((await anon("c1/openid/v1/jwks")).status, 200);
    assert.equal((await anon("c1/.well-known/openid-configuration")).status, 200);
    assert.equal((await anon("c1/irsa-issuer-state.json")).status, 403, "the state object stays private");
    assert.equal((await anon("")).status, 403, "no listing");
  });

  test("refuses a public issuer the cluster does not use, naming kube-apiserver's flag", async () => {
    const r = await sync([
      "--kubeconfig",
      kube.kubeconfigFile,
      "--public-issuer",
      "https://oidc.example.com",
      "--to",
      `s3://${BUCKET}/other`,
      "--endpoint-url",
      minio.endpoint,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--service-account-issuer=https:\/\/oidc\.example\.com/);
    await assert.rejects(object("other/openid/v1/jwks"), /NoSuchKey|does not exist/);
  });

  test("faults exit 1 naming the cause and leave the published bytes intact", async () => {
    const before = await object("c1/openid/v1/jwks");
    const closed = await freePort();
    const unreachable = await sync([
      ...base(),
      "--to",
      `s3://${BUCKET}/c1`,
      "--endpoint-url",
      `http://127.0.0.1:${closed}`,
    ]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot read s3:\/\/irsa-oidc\/c1\/openid\/v1\/jwks: .*ECONNREFUSED/);
    const refused = await sync(
      [...base(), "--to", `s3://${BUCKET}/c1`, "--endpoint-url", minio.endpoint],
      s3Env(minio, "wrong-secret"),
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /S3 refused to read .*SignatureDoesNotMatch.*HTTP 403/);
    const apiDown = await sync([
      ...base(),
      "--kube-api",
      `https://127.0.0.1:${closed}`,
      "--to",
      `s3://${BUCKET}/c1`,
      "--endpoint-url",
      minio.endpoint,
    ]);
    assert.equal(apiDown.code, 1);
    assert.match(apiDown.stderr, /cannot reach the API server .*ECONNREFUSED/);
    assert.deepEqual((await object("c1/openid/v1/jwks")).body, before.body);
  });

  test("two --watch replicas on one bucket agree, get ready, and leave an unchanged target alone", async () => {
    const replicas = [];
    for (const name of ["replica-a", "replica-b"]) {
      const metricsPort = await freePort();
      const proc = startProcess({
        name,
        command: process.execPath,
        args: [
          requireIrsaCli(),
          "issuer",
          "sync",
          "--watch",
          "--interval",
          "200ms",
          ...base(),
          "--to",
          `s3://${BUCKET}/c2`,
          "--endpoint-url",
          minio.endpoint,
          "--metrics-port",
          String(metricsPort),
          "--bind-address",
          "127.0.0.1",
        ],
        logDir: await tempDir(name),
        env: s3Env(minio),
      });
      replicas.push({ proc, metricsPort });
    }
    for (const r of replicas) {
      await waitUntil(
        "issuer sync --watch /readyz",
        async () =>
          (await httpCall(`http://127.0.0.1:${r.metricsPort}/readyz`, { timeoutMs: 2000 })).status === 200,
        { proc: r.proc, timeoutMs: 30_000 },
      );
    }
    const served = await kube.request("/openid/v1/jwks");
    assert.deepEqual((await object("c2/openid/v1/jwks")).body, served.body);
    // A few intervals later, neither has written again: the target was current.
    await new Promise((r) => setTimeout(r, 1500));
    let written = 0;
    for (const r of replicas) {
      const m = await httpCall(`http://127.0.0.1:${r.metricsPort}/metrics`);
      assert.match(
        m.text,
        /irsa_issuer_syncs_total\{target="s3:\/\/irsa-oidc\/c2",result="unchanged"\} [1-9]/,
      );
      assert.match(m.text, /irsa_issuer_keys_published\{target="s3:\/\/irsa-oidc\/c2"\} 1/);
      written += Number(
        /irsa_issuer_syncs_total\{target="s3:\/\/irsa-oidc\/c2",result="written"\} (\d+)/.exec(m.text)?.[1] ??
          0,
      );
    }
    assert.ok(written >= 1 && written <= 2, `first publications only, got ${written}`);
    for (const r of replicas) await r.proc.stop();
  });
});
