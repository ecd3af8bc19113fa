/**
 * The local stack's process supervision (src/stack/processes.ts) with real child processes: a peer
 * that dies or never gets ready fails the wait with the last 40 lines of its log, stop() escalates
 * to SIGKILL, and stopAll() leaves no process and no temp dir behind.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import { KEEP_ENV, runOk, startProcess, stopAll, tempDir, waitUntil } from "../../src/stack/processes.js";

after(stopAll);

/** A node child running `code`. */
function node(name: string, logDir: string, code: string) {
  return startProcess({ name, logDir, command: process.execPath, args: ["-e", code] });
}

const notReady = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof IrsaError, String(e));
  assert.equal(e.code, "PEER_NOT_READY");
  assert.match(e.message, pattern);
  assert.match(e.hint ?? "", new RegExp(KEEP_ENV));
  return true;
};

describe("stack processes", () => {
  it("a process that exits before it is ready fails the wait with its last 40 log lines", async () => {
    const dir = await tempDir("proc-test");
    const proc = node(
      "dies",
      dir,
      "for (let i = 1; i <= 100; i++) console.log(`line ${i}`); process.exit(3)",
    );
    let err: unknown;
    await waitUntil("the dying peer", () => Promise.resolve(false), { proc, timeoutMs: 10_000 }).catch(
      (e: unknown) => {
        err = e;
      },
    );
    assert.ok(notReady(/the dying peer: dies exited \(3\) before it was ready/)(err));
    const message = (err as IrsaError).message;
    assert.match(message, /line 61\nline 62/);
    assert.match(message, /line 100$/);
    assert.doesNotMatch(message, /line 60\n/, "only the last 40 lines");
    assert.match(readFileSync(proc.logFile, "utf8"), /^line 1\n/, "the whole output is in the log file");
  });

  it("a process that never gets ready fails the wait after the timeout, and keeps running until stopped", async () => {
    const dir = await tempDir("proc-test");
    const proc = node("slow", dir, "console.log('starting'); setInterval(() => {}, 1000)");
    // Node itself takes a moment to start under load: the line must be in the log before the wait.
    await waitUntil("slow logging", () => Promise.resolve(readFileSync(proc.logFile, "utf8") !== ""), {
      proc,
      intervalMs: 20,
    });
    const t0 = Date.now();
    await assert.rejects(
      waitUntil("the slow peer", () => Promise.resolve(false), { proc, timeoutMs: 300, intervalMs: 50 }),
      notReady(/the slow peer: not ready after 300 ms; log .*slow\.log, last lines:\nstarting$/),
    );
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(proc.exitStatus, undefined);
    await proc.stop();
    assert.equal(proc.exitStatus, "SIGTERM");
  });

  it("resolves as soon as the probe says ready, past probe errors", async () => {
    let calls = 0;
    await waitUntil(
      "flaky probe",
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error("ECONNREFUSED")) : Promise.resolve(true);
      },
      { intervalMs: 10 },
    );
    assert.equal(calls, 3);
  });

  it("stop() sends SIGKILL to a process that ignores SIGTERM after the grace period", async () => {
    const dir = await tempDir("proc-test");
    const proc = node(
      "stubborn",
      dir,
      "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)",
    );
    await waitUntil("stubborn up", () => Promise.resolve(readFileSync(proc.logFile, "utf8").includes("up")), {
      proc,
      intervalMs: 20,
    });
    const t0 = Date.now();
    await proc.stop(200);
    assert.equal(proc.exitStatus, "SIGKILL");
    assert.ok(Date.now() - t0 >= 150, "it got its grace period");
  });

  it("stopAll() stops every process and removes every temp dir", async () => {
    const dir = await tempDir("proc-test");
    const a = node("a", dir, "setInterval(() => {}, 1000)");
    const b = node("b", dir, "setInterval(() => {}, 1000)");
    assert.equal(process.env[KEEP_ENV], undefined);
    await stopAll();
    // startProcess registers no cleanup of its own: stopAll's last resort, SIGKILL, ends them.
    await waitUntil(
      "a and b gone",
      () => Promise.resolve(a.exitStatus !== undefined && b.exitStatus !== undefined),
      {
        timeoutMs: 5000,
        intervalMs: 10,
      },
    );
    assert.deepEqual([a.exitStatus, b.exitStatus], ["SIGKILL", "SIGKILL"]);
    assert.equal(existsSync(dir), false);
  });

  it("runOk fails with COMMAND_FAILED, the command line and its output", async () => {
    await assert.rejects(
      runOk(process.execPath, ["-e", "console.error('boom'); process.exit(4)"]),
      (e: unknown) => {
        assert.ok(e instanceof IrsaError);
        assert.equal(e.code, "COMMAND_FAILED");
        assert.match(e.message, /exited 4:\nboom/);
        return true;
      },
    );
  });
});
