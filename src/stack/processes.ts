/**
 * Supervision of the local stack's processes (etcd, kube-apiserver, MinIO, `irsa webhook`): output
 * to a log file in a temp dir, readiness polling that shows the log's last 40 lines on failure, and
 * cleanup that never leaves a server behind (stop(), stopAll() at the end of a run or in a test's
 * `after` hook, SIGINT/SIGTERM/SIGHUP and process-exit handlers, and, where util-linux's setpriv
 * exists, a parent-death signal so a SIGKILLed parent takes its servers with it). One supervisor
 * per process: the registry of live children and cleanups is this module's.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IrsaError } from "../core/errors.js";

export interface StartOptions {
  /** Short name used in messages and as the log file name. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Directory for `<name>.log`. */
  readonly logDir: string;
  /** Added to a copy of this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited: its exit code or the signal name. */
  readonly exitStatus: string | undefined;
  /** The last `lines` lines of the log. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: 'exit' handlers cannot wait, so SIGKILL whatever is still running.
  process.on("exit", () => {
    for (const c of live) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  let exiting = false;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      // Someone waits for this signal to stop the stack its own way (`irsa up`): hand it over.
      const waiters = signalWaiters.splice(0);
      for (const w of waiters) w(sig);
      if (waiters.length > 0) return;
      const code = 128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1);
      if (exiting) process.exit(code); // a second signal: the 'exit' hook SIGKILLs what is left
      exiting = true;
      void stopAll().finally(() => process.exit(code));
    });
  }
}

const signalWaiters: ((sig: NodeJS.Signals) => void)[] = [];

/**
 * Resolves with the next SIGINT, SIGTERM or SIGHUP, which then does not stop the stack by itself:
 * the caller stops it (stopAll()). A further signal while it stops does the default: stop and exit.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  installExitHook();
  return new Promise((resolve) => signalWaiters.push(resolve));
}

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const r = spawnSync("setpriv", ["--help"], { encoding: "utf8" });
    setprivPath = r.status === 0 && r.stdout.includes("--pdeathsig") ? "setpriv" : null;
  }
  return setprivPath;
}

function tailOf(file: string, lines: number): string {
  if (!existsSync(file)) return "(no log)";
  const text = readFileSync(file, "utf8").trimEnd();
  if (text === "") return "(the log is empty)";
  return text.split("\n").slice(-lines).join("\n");
}

/** Starts a server process with stdout and stderr appended to `<logDir>/<name>.log`. */
export function startProcess(opts: StartOptions): ManagedProcess {
  installExitHook();
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, "a");
  const wrapper = setpriv();
  const [cmd, args] = wrapper
    ? [wrapper, ["--pdeathsig", "KILL", "--", opts.command, ...opts.args]]
    : [opts.command, [...opts.args]];
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitStatus = signal ?? String(code);
      live.delete(child);
      resolve();
    });
    child.once("error", (e) => {
      exitStatus = `spawn error: ${e.message}`;
      live.delete(child);
      resolve();
    });
  });
  live.add(child);
  let stopping: Promise<void> | undefined;
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    logFile,
    get exitStatus() {
      return exitStatus;
    },
    tail: (lines = 40) => tailOf(logFile, lines),
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (exitStatus !== undefined) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Registers an async cleanup (stop a peer, remove a dir) run by stopAll(), last registered first. */
export function onCleanup(fn: () => Promise<void>): void {
  installExitHook();
  cleanups.push(fn);
}

/** Runs every registered cleanup (newest first), then SIGKILLs anything still alive. For `after` hooks. */
export async function stopAll(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn?.();
    } catch (e) {
      errors.push(e);
    }
  }
  for (const c of live) c.kill("SIGKILL");
  if (errors.length > 0) throw new AggregateError(errors, "stopping the stack failed");
}

/** Set to 1 to keep the temp dirs (logs, certificates, data) after stopAll(). */
export const KEEP_ENV = "IRSA_STACK_KEEP";

/** A fresh temp dir, removed by stopAll() unless IRSA_STACK_KEEP=1 (then its path is printed). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `irsa-stack-${prefix}-`));
  onCleanup(async () => {
    if (process.env[KEEP_ENV] === "1") {
      process.stderr.write(`stack: kept ${dir}\n`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

function notReady(message: string): IrsaError {
  return new IrsaError(
    "PEER_NOT_READY",
    message,
    `the log's last lines are above; ${KEEP_ENV}=1 keeps the temp dir with every log after the run`,
  );
}

/**
 * Polls `ready` every `intervalMs` until it returns true. Fails fast when `proc` exits, and after
 * `timeoutMs`; either way the error (PEER_NOT_READY) carries the last 40 lines of the process log.
 */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  opts: { proc?: ManagedProcess; timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const { proc, timeoutMs = 60_000, intervalMs = 200 } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (proc?.exitStatus !== undefined) {
      throw notReady(
        `${what}: ${proc.name} exited (${proc.exitStatus}) before it was ready; log ${proc.logFile}, last lines:\n${proc.tail()}`,
      );
    }
    try {
      if (await ready()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const cause = last instanceof Error ? ` (last error: ${last.message})` : "";
      const log = proc ? `; log ${proc.logFile}, last lines:\n${proc.tail()}` : "";
      throw notReady(`${what}: not ready after ${timeoutMs} ms${cause}${log}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion (no shell), capturing its output. */
export async function run(
  command: string,
  args: readonly string[],
  opts: { env?: Readonly<Record<string, string | undefined>>; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.once("error", reject);
    // A command that exits without reading its input closes the pipe: EPIPE is not a failure.
    child.stdin.on("error", () => undefined);
    child.once("close", (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Like run(), but throws (COMMAND_FAILED) with the command line and its output unless it exits 0. */
export async function runOk(
  command: string,
  args: readonly string[],
  opts: { env?: Readonly<Record<string, string | undefined>>; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  const r = await run(command, args, opts);
  if (r.code !== 0) {
    throw new IrsaError(
      "COMMAND_FAILED",
      `${command} ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`,
      "its output is above",
    );
  }
  return r;
}
