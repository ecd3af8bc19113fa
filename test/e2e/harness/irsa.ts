/** Runs the built `irsa` CLI (dist/src/cli/main.js) as a user would. */
import { requireIrsaCli } from "./peers.js";
import { run, runOk, type RunResult } from "./proc.js";

/** `irsa ARGS...`; resolves with the exit code and output, whatever the code. */
export async function irsa(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [requireIrsaCli(), ...args]);
}

/** `irsa ARGS...`, throwing unless it exits 0. */
export async function irsaOk(args: readonly string[]): Promise<RunResult> {
  return runOk(process.execPath, [requireIrsaCli(), ...args]);
}
