/**
 * The sync controller against real directories with a key-file source: rotation driven by an
 * injected clock (never by sleeping), two replicas on one target (and a forced race between them
 * that only conditional writes survive), and faults (unwritable target,
 * damaged source, truncated state object): nothing published is corrupted or loses a live key, and
 * each error is counted every time and logged once with its cause.
 */
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId } from "../../src/core/oidc/keys.js";
import { SyncController } from "../../src/issuer/controller.js";
import { IssuerMetrics } from "../../src/issuer/metrics.js";
import { keyFileSource } from "../../src/issuer/source.js";
import { DIR_LOCK_FILE, dirTarget } from "../../src/issuer/target.js";
import { isIrsaError } from "../../src/core/errors.js";
import { assertNoLiveKeyLost, raceTwoReplicas } from "../support/issuer-race.js";
import type { Log } from "../../src/runtime/log.js";

const HOUR = 3600_000;
const ISSUER = "https://oidc.example.com/c1";

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLog(): Log & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

interface SigningKey {
  priv: KeyObject;
  pubFile: string;
  kid: string;
}

function newKey(dir: string, name: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pubFile = join(dir, `${name}.pub`);
  writeFileSync(pubFile, publicKey.export({ type: "spki", format: "pem" }));
  return { priv: privateKey, pubFile, kid: keyId(publicKey.export({ type: "spki", format: "der" })) };
}

function token(k: SigningKey, nowMs: number): Promise<string> {
  return new SignJWT({ sub: "system:serviceaccount:ns:app" })
    .setProtectedHeader({ alg: "RS256", kid: k.kid })
    .setIssuer(ISSUER)
    .setAudience("sts.amazonaws.com")
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.floor(nowMs / 1000) + 24 * 3600)
    .sign(k.priv);
}

function published(dir: string): JSONWebKeySet {
  return JSON.parse(readFileSync(join(dir, "openid/v1/jwks"), "utf8")) as JSONWebKeySet;
}

async function verifies(tok: string, dir: string, nowMs: number): Promise<boolean> {
  try {
    await jwtVerify(tok, createLocalJWKSet(published(dir)), {
      issuer: ISSUER,
      audience: "sts.amazonaws.com",
      currentDate: new Date(nowMs),
    });
    return true;
  } catch {
    return false;
  }
}

function setup(files: string[], retainMs = 25 * HOUR) {
  const root = mkdtempSync(join(tmpdir(), "irsa-issuer-it-"));
  const out = join(root, "out");
  const clock = { now: Date.parse("2026-03-01T00:00:00Z") };
  const log = recordingLog();
  const metrics = new IssuerMetrics(undefined, false);
  const keyList = [...files];
  const source = keyFileSource(keyList, ISSUER);
  const controller = new SyncController({
    source,
    targets: [dirTarget(out)],
    retainMs,
    publicIssuer: ISSUER,
    intervalMs: 1000,
    log,
    metrics,
    now: () => clock.now,
  });
  return { root, out, clock, log, metrics, keyList, controller };
}

async function errorCount(m: IssuerMetrics, kind: string): Promise<number> {
  const v = (await m.errors.get()).values.find((x) => x.labels.kind === kind);
  return v?.value ?? 0;
}

describe("issuer sync controller", () => {
  it("keeps a rotated-out key until --retain passes, so tokens signed with it verify until then", async () => {
    const keysDir = mkdtempSync(join(tmpdir(), "irsa-keys-"));
    const a = newKey(keysDir, "a");
    const b = newKey(keysDir, "b");
    const s = setup([a.pubFile]);
    assert.equal(s.controller.readiness() !== undefined, true, "not ready before the first sync");
    assert.equal(await s.controller.runOnce(), true);
    assert.equal(s.controller.readiness(), undefined);
    const tokA = await token(a, s.clock.now);
    assert.equal(await verifies(tokA, s.out, s.clock.now), true);

    // Step 1: b is added and signs; a is still a verification key (each step: a new key list).
    const step = (files: string[]) =>
      new SyncController({
        source: keyFileSource(files, ISSUER),
        targets: [dirTarget(s.out)],
        retainMs: 25 * HOUR,
        publicIssuer: ISSUER,
        intervalMs: 1000,
        log: s.log,
        metrics: s.metrics,
        now: () => s.clock.now,
      });
    s.clock.now += HOUR;
    assert.equal(await step([b.pubFile, a.pubFile]).runOnce(), true);
    const tokB = await token(b, s.clock.now);
    assert.deepEqual(
      published(s.out).keys.map((k) => k.kid),
      [b.kid, a.kid],
    );

    // Step 2: a leaves the key files.
    s.clock.now += HOUR;
    const leftAt = s.clock.now;
    const onlyB = step([b.pubFile]);
    assert.equal(await onlyB.runOnce(), true);
    assert.deepEqual(
      published(s.out).keys.map((k) => k.kid),
      [b.kid, a.kid],
    );
    assert.equal(await verifies(tokA, s.out, s.clock.now), true, "old token still verifies");

    // A moment before --retain passes: nothing is written, a is still published.
    s.clock.now = leftAt + 25 * HOUR - 1000;
    const before = readFileSync(join(s.out, "irsa-issuer-state.json"), "utf8");
    assert.equal(await onlyB.runOnce(), true);
    assert.equal(
      readFileSync(join(s.out, "irsa-issuer-state.json"), "utf8"),
      before,
      "unchanged: not rewritten",
    );
    assert.ok(published(s.out).keys.some((k) => k.kid === a.kid));

    // Once --retain has passed, a is dropped (its tokens expired 24 h after issue anyway).
    s.clock.now = leftAt + 25 * HOUR;
    assert.equal(await onlyB.runOnce(), true);
    assert.deepEqual(
      published(s.out).keys.map((k) => k.kid),
      [b.kid],
    );
    assert.equal(await verifies(tokB, s.out, s.clock.now - 7 * HOUR), true);
    assert.equal(await verifies(tokA, s.out, s.clock.now - 7 * HOUR), false, "a is gone");
  });

  it("two replicas with different views of the source never publish a JWKS without a live key", async () => {
    const keysDir = mkdtempSync(join(tmpdir(), "irsa-keys-"));
    const a = newKey(keysDir, "a");
    const b = newKey(keysDir, "b");
    const out = join(mkdtempSync(join(tmpdir(), "irsa-issuer-it-")), "out");
    const clock = { now: Date.parse("2026-03-01T00:00:00Z") };
    const replica = (files: string[]) =>
      new SyncController({
        source: keyFileSource(files, ISSUER),
        targets: [dirTarget(out)],
        retainMs: 25 * HOUR,
        publicIssuer: ISSUER,
        intervalMs: 1000,
        log: recordingLog(),
        metrics: new IssuerMetrics(undefined, false),
        now: () => clock.now,
      });
    const old = replica([a.pubFile]); // has not seen b yet
    const fresh = replica([b.pubFile, a.pubFile]);
    assert.equal(await fresh.runOnce(), true);
    for (let i = 0; i < 5; i++) {
      clock.now += 60_000;
      await Promise.all([old.runOnce(), fresh.runOnce()]);
      const kids = published(out).keys.map((k) => k.kid);
      assert.ok(kids.includes(a.kid) && kids.includes(b.kid), `pass ${i}: ${kids.join(",")}`);
    }
  });

  it("a replica that read before another published a key cannot overwrite it: its write is refused and it merges again", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "irsa-issuer-it-")), "out");
    const outcome = await raceTwoReplicas(() => dirTarget(out));
    assertNoLiveKeyLost(outcome);
    assert.equal(existsSync(join(out, DIR_LOCK_FILE)), false, "the lock file is gone after each write");
  });

  it("a directory's lock file left by a crashed writer is taken over once stale; a fresh one is waited for", async () => {
    const out = mkdtempSync(join(tmpdir(), "irsa-issuer-it-"));
    const lock = join(out, DIR_LOCK_FILE);
    const t = dirTarget(out);
    writeFileSync(lock, "12345 crashed\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await t.write("openid/v1/jwks", '{"keys":[]}', "application/json", undefined, undefined);
    assert.equal(existsSync(lock), false);
    // Held by a live writer: the write waits for it, then compares against what that writer left.
    writeFileSync(lock, "held\n");
    const pending = t.write("openid/v1/jwks", "{}", "application/json", undefined, undefined);
    await new Promise((r) => setTimeout(r, 100));
    rmSync(lock);
    await assert.rejects(pending, (e: unknown) => isIrsaError(e) && e.code === "TARGET_CONFLICT");
    const current = await t.read("openid/v1/jwks");
    assert.ok(current !== undefined);
    assert.equal(current.body.toString(), '{"keys":[]}');
    await t.write("openid/v1/jwks", "{}", "application/json", undefined, current.etag);
    assert.equal(readFileSync(join(out, "openid/v1/jwks"), "utf8"), "{}");
  });

  it("faults leave what is published intact, and each error is counted every time but logged once", async () => {
    const keysDir = mkdtempSync(join(tmpdir(), "irsa-keys-"));
    const a = newKey(keysDir, "a");
    const s = setup([a.pubFile]);
    assert.equal(await s.controller.runOnce(), true);
    const jwksBefore = readFileSync(join(s.out, "openid/v1/jwks"));
    const discBefore = readFileSync(join(s.out, ".well-known/openid-configuration"));

    // A damaged key file: the source is refused; nothing is written.
    const good = readFileSync(a.pubFile);
    writeFileSync(a.pubFile, good.subarray(0, 100));
    assert.equal(await s.controller.runOnce(), false);
    assert.equal(await s.controller.runOnce(), false);
    assert.equal(await errorCount(s.metrics, "key_pem_invalid"), 2);
    const sourceErrors = s.log.lines.filter((l) => l.level === "error" && l.obj["scope"] === "source");
    assert.equal(sourceErrors.length, 1, "logged once");
    assert.match(String(sourceErrors[0]?.obj["err"]), /truncated or damaged/);
    assert.deepEqual(readFileSync(join(s.out, "openid/v1/jwks")), jwksBefore);
    writeFileSync(a.pubFile, good);
    assert.equal(await s.controller.runOnce(), true);
    assert.ok(s.log.lines.some((l) => l.msg === "issuer sync recovered" && l.obj["scope"] === "source"));

    // A truncated state object: rebuilt from the published JWKS, the error logged once and counted.
    const statePath = join(s.out, "irsa-issuer-state.json");
    writeFileSync(statePath, readFileSync(statePath).subarray(0, 40));
    assert.equal(await s.controller.runOnce(), true);
    assert.equal(await errorCount(s.metrics, "state_invalid"), 1);
    assert.doesNotThrow(
      () => JSON.parse(readFileSync(statePath, "utf8")) as unknown,
      "state rewritten whole",
    );
    assert.deepEqual(readFileSync(join(s.out, "openid/v1/jwks")), jwksBefore);

    // An unwritable target (its openid/ is a file): the JWKS write fails; the discovery document
    // is not written over a JWKS that is missing; the error is counted and logged once.
    const keysDir2 = mkdtempSync(join(tmpdir(), "irsa-keys-"));
    const b = newKey(keysDir2, "b");
    const broken = join(s.root, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "openid"), "not a directory");
    const ctl = new SyncController({
      source: keyFileSource([b.pubFile], ISSUER),
      targets: [dirTarget(broken), dirTarget(s.out)],
      retainMs: 25 * HOUR,
      publicIssuer: ISSUER,
      intervalMs: 1000,
      log: s.log,
      metrics: s.metrics,
      now: () => s.clock.now,
    });
    assert.equal(await ctl.runOnce(), false);
    assert.equal(await ctl.runOnce(), false);
    assert.equal(await errorCount(s.metrics, "target_unreachable"), 2);
    assert.equal(
      s.log.lines.filter((l) => l.level === "error" && l.obj["scope"] === `dir://${broken}`).length,
      1,
    );
    assert.throws(
      () => readFileSync(join(broken, ".well-known/openid-configuration")),
      "no discovery without its JWKS",
    );
    // The other target was still synced, and keeps the old key a beside the new key b.
    assert.deepEqual(
      published(s.out).keys.map((k) => k.kid),
      [b.kid, a.kid],
    );
    assert.notDeepEqual(
      readFileSync(join(s.out, ".well-known/openid-configuration")),
      discBefore.subarray(0, 0),
    );
    assert.equal(ctl.readiness(), `not synced yet: dir://${broken}`);
    rmSync(join(broken, "openid"));
    assert.equal(await ctl.runOnce(), true);
  });
});
