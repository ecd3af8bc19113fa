/** Runs the built `irsa` CLI as a child process, as a user would. */
import { irsaCliPath } from "./peers.js";
import { run, runOk, type RunResult } from "./processes.js";

/** `irsa ARGS...`; resolves with the exit code and output, whatever the code. */
export async function irsa(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [irsaCliPath(), ...args]);
}

/** `irsa ARGS...`, throwing (COMMAND_FAILED) unless it exits 0. */
export async function irsaOk(args: readonly string[]): Promise<RunResult> {
  return runOk(process.execPath, [irsaCliPath(), ...args]);
}
