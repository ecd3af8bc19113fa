/**
 * Two sync replicas racing on one target, made deterministic: the lagging replica reads the target,
 * then is held before its first write while the other publishes a new key; released, it writes what
 * it computed from the old documents. Every JWKS version the target holds is recorded after each
 * write. Without conditional writes the lagging replica's JWKS (computed without the new key)
 * replaces the one that published it; with them its write is refused and it merges again.
 *
 * The scenario: key z left the source 25 h ago (both replicas drop it now, so both have something
 * to write), key a is the signing key, and the fresh replica's source also has the new key b.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId } from "../../src/core/oidc/keys.js";
import { JWKS_OBJECT } from "../../src/core/issuer/documents.js";
import { SyncController } from "../../src/issuer/controller.js";
import { IssuerMetrics } from "../../src/issuer/metrics.js";
import { keyFileSource } from "../../src/issuer/source.js";
import type { Target } from "../../src/issuer/target.js";

const HOUR = 3600_000;
const RETAIN = 25 * HOUR;
export const RACE_ISSUER = "https://oidc.example.com/race";

function key(dir: string, name: string): { file: string; kid: string } {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const file = join(dir, `${name}.pub`);
  writeFileSync(file, publicKey.export({ type: "spki", format: "pem" }));
  return { file, kid: keyId(publicKey.export({ type: "spki", format: "der" })) };
}

/** `inner`, whose writes wait for `gate` (once armed) and record the JWKS after each write. */
function observed(
  inner: Target,
  history: string[][],
): Target & { hold(): { reached: Promise<void>; release(): void } } {
  let gate: { reached: () => void; released: Promise<void> } | undefined;
  const record = async (): Promise<void> => {
    const jwks = await inner.read(JWKS_OBJECT);
    if (jwks === undefined) return;
    const keys = (JSON.parse(jwks.body.toString("utf8")) as { keys: { kid: string }[] }).keys;
    history.push(keys.map((k) => k.kid).sort());
  };
  return {
    name: inner.name,
    read: (object) => inner.read(object),
    async write(object, body, contentType, cacheControl, replaces) {
      if (gate !== undefined) {
        const g = gate;
        gate = undefined;
        g.reached();
        await g.released;
      }
      try {
        return await inner.write(object, body, contentType, cacheControl, replaces);
      } finally {
        await record();
      }
    },
    close: () => {
      inner.close();
    },
    hold() {
      let reached!: () => void;
      let release!: () => void;
      const r = new Promise<void>((res) => (reached = res));
      gate = { reached, released: new Promise<void>((res) => (release = res)) };
      return { reached: r, release };
    },
  };
}

export interface RaceOutcome {
  /** The kids of every JWKS version the target held, in order. */
  readonly history: readonly (readonly string[])[];
  readonly finalKids: readonly string[];
  readonly kids: { readonly a: string; readonly b: string; readonly z: string };
  /** Conditional writes refused (the lagging replica's), from the metrics. */
  readonly conflicts: number;
}

/**
 * Runs the race on targets made by `open` (each replica gets its own Target on the same place) and
 * checks that no published JWKS after the first with b lacks b or a. Returns what happened.
 */
export async function raceTwoReplicas(open: () => Target): Promise<RaceOutcome> {
  const dir = mkdtempSync(join(tmpdir(), "irsa-race-keys-"));
  const [a, b, z] = [key(dir, "a"), key(dir, "b"), key(dir, "z")];
  const clock = { now: Date.parse("2026-03-01T00:00:00Z") };
  const history: string[][] = [];
  const metrics = new IssuerMetrics(undefined, false);
  const noLog = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const replica = (files: string[], target: Target) =>
    new SyncController({
      source: keyFileSource(files, RACE_ISSUER),
      targets: [target],
      retainMs: RETAIN,
      publicIssuer: RACE_ISSUER,
      intervalMs: 1000,
      log: noLog,
      metrics,
      now: () => clock.now,
    });
  // History: z and a published, then z leaves the source.
  const setupTarget = open();
  assert.equal(await replica([z.file, a.file], setupTarget).runOnce(), true);
  clock.now += HOUR;
  assert.equal(await replica([a.file], setupTarget).runOnce(), true);
  setupTarget.close();
  clock.now += RETAIN;

  const laggingTarget = observed(open(), history);
  const freshTarget = observed(open(), history);
  const lagging = replica([a.file], laggingTarget);
  const fresh = replica([b.file, a.file], freshTarget);
  const gate = laggingTarget.hold();
  const laggingPass = lagging.runOnce();
  await gate.reached; // it has read the target and computed its documents
  assert.equal(await fresh.runOnce(), true, "the fresh replica publishes b");
  gate.release();
  assert.equal(await laggingPass, true, "the lagging replica finishes its pass");
  // One more pass of each, as --watch would do.
  assert.equal(await lagging.runOnce(), true);
  assert.equal(await fresh.runOnce(), true);

  const final = await laggingTarget.read(JWKS_OBJECT);
  const finalKids = (JSON.parse(final?.body.toString("utf8") ?? "{}") as { keys: { kid: string }[] }).keys
    .map((k) => k.kid)
    .sort();
  laggingTarget.close();
  freshTarget.close();
  const conflicts = (await metrics.conflicts.get()).values.reduce((n, v) => n + v.value, 0);
  return { history, finalKids, kids: { a: a.kid, b: b.kid, z: z.kid }, conflicts };
}

/** The property: once b is published, no later JWKS lacks b or a; z is dropped. */
export function assertNoLiveKeyLost(o: RaceOutcome): void {
  const first = o.history.findIndex((kids) => kids.includes(o.kids.b));
  assert.ok(first >= 0, `b was never published: ${JSON.stringify(o.history)}`);
  for (const [i, kids] of o.history.entries()) {
    assert.ok(kids.includes(o.kids.a), `JWKS version ${i} lacks the signing key a`);
    if (i >= first) {
      assert.ok(
        kids.includes(o.kids.b),
        `JWKS version ${i} lacks b, published in version ${first}: ${JSON.stringify(o.history)}`,
      );
    }
  }
  assert.deepEqual(o.finalKids, [o.kids.a, o.kids.b].sort());
  assert.ok(!o.finalKids.includes(o.kids.z), "z, past --retain, is dropped");
  assert.ok(o.conflicts >= 1, "the lagging replica's write was refused at least once");
}
