/**
 * A signing-key rotation on a real kube-apiserver, published by the sync controller to a directory
 * and to MinIO (S3): kube-apiserver restarts with a new signing key (the old one still in
 * --service-account-key-file), then without the old key. A token minted before each step still
 * verifies (jose) against the published JWKS, even once kube-apiserver itself rejects it, until
 * --retain has passed; then the old key is dropped. Time is an injected clock, never a sleep.
 * Two replicas forced to race on one MinIO bucket: MinIO's conditional writes (If-Match,
 * If-None-Match: *) refuse the lagging replica's write, so no published JWKS loses a live key.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { S3Store } from "../../src/adapters/aws/s3.js";
import { SyncController } from "../../src/issuer/controller.js";
import { IssuerMetrics } from "../../src/issuer/metrics.js";
import { kubeSource } from "../../src/issuer/source.js";
import { dirTarget, s3Target, type Target } from "../../src/issuer/target.js";
import type { Log } from "../../src/runtime/log.js";
import { assertNoLiveKeyLost, raceTwoReplicas } from "../support/issuer-race.js";
import {
  allowAnonymousDiscovery,
  createNamespace,
  irsaOk,
  minioS3,
  requestToken,
  startKube,
  startMinio,
  stopAll,
  tempDir,
  type Kube,
  type Minio,
} from "./harness/index.js";

after(stopAll);

const HOUR = 3600_000;
const RETAIN = 25 * HOUR;
const BUCKET = "irsa-rotation";
const AUDIENCE = "sts.amazonaws.com";

let kube: Kube;
let minio: Minio;
let s3: S3Client;
let dir: string;
let ns: string;
const errors: string[] = [];
/** The sync's clock; it only ever moves forward, and never behind the real time tokens carry. */
const clock = { now: Date.now() };

const log: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (obj, msg) => errors.push(`${msg} ${JSON.stringify(obj)}`),
};

/** The JWKS as published in each target, read back from the directory and from the bucket. */
async function publishedJwks(): Promise<{ dir: JSONWebKeySet; s3: JSONWebKeySet }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "c1/openid/v1/jwks" }));
  const fromS3 = Buffer.from(await (r.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
  return {
    dir: JSON.parse(await readFile(join(dir, "openid/v1/jwks"), "utf8")) as JSONWebKeySet,
    s3: JSON.parse(fromS3.toString("utf8")) as JSONWebKeySet,
  };
}

/** Whether `token` verifies against the JWKS published in every target, at the clock's time. */
async function verifiesEverywhere(token: string, nowMs: number): Promise<boolean> {
  const results = [];
  for (const [where, jwks] of Object.entries(await publishedJwks())) {
    try {
      await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: kube.issuer,
        audience: AUDIENCE,
        currentDate: new Date(nowMs),
      });
      results.push(true);
    } catch (e) {
      results.push(false);
      if (!(e instanceof Error) || !/no applicable key|signature/i.test(e.message)) {
        throw new Error(`${where}: unexpected verification failure: ${String(e)}`);
      }
    }
  }
  assert.equal(new Set(results).size, 1, "the directory and the bucket publish the same keys");
  return results[0] === true;
}

async function kubeAccepts(token: string): Promise<boolean> {
  const r = await kube.request("/apis/authentication.k8s.io/v1/tokenreviews", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token, audiences: [AUDIENCE] },
    }),
  });
  assert.equal(r.status, 201, r.text);
  return (JSON.parse(r.text) as { status: { authenticated?: boolean } }).status.authenticated === true;
}

async function kubeKids(): Promise<string[]> {
  const r = await kube.request("/openid/v1/jwks");
  return (JSON.parse(r.text) as JSONWebKeySet).keys.map((k) => k.kid ?? "");
}

/** A 48 h token (longer than --retain) for the namespace's default ServiceAccount, and its kid. */
async function mint(): Promise<{ token: string; kid: string }> {
  const { token } = await requestToken(kube.kubeConfig, ns, "default", {
    audiences: [AUDIENCE],
    expirationSeconds: 48 * 3600,
  });
  clock.now = Math.max(clock.now, Date.now() + 1000);
  return { token, kid: decodeProtectedHeader(token).kid ?? "" };
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
  dir = await tempDir("issuer-rotation");
  ns = await createNamespace(kube.kubeConfig);
});

describe("key rotation on kube-apiserver published with --retain 25h, and replicas racing on MinIO", () => {
  test("tokens signed with the old key verify against the published JWKS until --retain passes", async () => {
    const targets: Target[] = [
      dirTarget(dir),
      s3Target(new S3Store(minioS3(minio), BUCKET), "c1", `s3://${BUCKET}/c1`),
    ];
    const controller = new SyncController({
      source: kubeSource(kube.kubeConfig),
      targets,
      retainMs: RETAIN,
      publicIssuer: kube.issuer,
      intervalMs: 1000,
      log,
      metrics: new IssuerMetrics(undefined, false),
      now: () => clock.now,
    });
    const sync = async (): Promise<void> => {
      assert.equal(await controller.runOnce(), true, errors.join("\n"));
    };
    const publishedKids = async (): Promise<string[]> =>
      (await publishedJwks()).dir.keys.map((k) => k.kid ?? "").sort();

    await sync();
    const tokA = await mint();
    assert.deepEqual(await publishedKids(), [tokA.kid]);
    assert.equal(await verifiesEverywhere(tokA.token, clock.now), true);

    // Step 1: a new signing key; the old one stays in --service-account-key-file.
    const newKeys = await tempDir("sa-next");
    await irsaOk(["keys", "generate", "--out", newKeys, "--type", "rsa"]);
    const signingKey = join(newKeys, "sa.key");
    const publicKey = join(newKeys, "sa.pub");
    await kube.restart({ signingKey, publicKey, extraPublicKeys: [kube.saPubFile] });
    clock.now += HOUR;
    await sync();
    const tokB = await mint();
    assert.notEqual(tokB.kid, tokA.kid, "kube-apiserver signs with the new key");
    assert.deepEqual(await publishedKids(), [tokA.kid, tokB.kid].sort());
    assert.equal(await verifiesEverywhere(tokA.token, clock.now), true, "token minted before step 1");
    assert.equal(await verifiesEverywhere(tokB.token, clock.now), true);

    // Step 2: the old key is gone from kube-apiserver; the published JWKS keeps it.
    await kube.restart({ signingKey, publicKey });
    assert.deepEqual(await kubeKids(), [tokB.kid]);
    assert.equal(await kubeAccepts(tokA.token), false, "kube-apiserver no longer knows the old key");
    assert.equal(await kubeAccepts(tokB.token), true);
    clock.now += HOUR;
    const leftAt = clock.now;
    await sync();
    assert.deepEqual(await publishedKids(), [tokA.kid, tokB.kid].sort());
    assert.equal(await verifiesEverywhere(tokA.token, clock.now), true, "token minted before step 2");
    assert.equal(await verifiesEverywhere(tokB.token, clock.now), true);

    // A second before --retain passes: still published, and nothing is rewritten.
    const before = await publishedJwks();
    clock.now = leftAt + RETAIN - 1000;
    await sync();
    assert.deepEqual(await publishedJwks(), before);
    assert.equal(await verifiesEverywhere(tokA.token, clock.now), true);

    // --retain has passed: the old key is dropped, the new one stays.
    clock.now = leftAt + RETAIN;
    await sync();
    assert.deepEqual(await publishedKids(), [tokB.kid]);
    assert.equal(await verifiesEverywhere(tokA.token, clock.now), false, "old key dropped");
    assert.equal(await verifiesEverywhere(tokB.token, clock.now), true);
    assert.deepEqual(errors, []);
    for (const t of targets) t.close();
  });

  test("two replicas racing on one bucket: MinIO refuses the stale conditional write, no live key is lost", async () => {
    const outcome = await raceTwoReplicas(() =>
      s3Target(new S3Store(minioS3(minio), BUCKET), "race", `s3://${BUCKET}/race`),
    );
    assertNoLiveKeyLost(outcome);
  });

  test("MinIO honours the preconditions: a stale If-Match and If-None-Match on an existing object get 412", async () => {
    const store = new S3Store(minioS3(minio), BUCKET);
    const first = await store.put("cas/object", "1", "application/json", undefined, { ifNoneMatch: "*" });
    assert.ok(first !== undefined);
    const conflict = (e: unknown) =>
      e instanceof Error && (e as { code?: string }).code === "TARGET_CONFLICT" && /HTTP 412/.test(e.message);
    await assert.rejects(
      store.put("cas/object", "2", "application/json", undefined, { ifNoneMatch: "*" }),
      conflict,
    );
    const second = await store.put("cas/object", "3", "application/json", undefined, { ifMatch: first });
    await assert.rejects(
      store.put("cas/object", "4", "application/json", undefined, { ifMatch: first }),
      conflict,
    );
    assert.equal((await store.get("cas/object"))?.etag, second);
    store.destroy();
  });
});
