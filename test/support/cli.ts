/** Runs the CLI in-process (fast, for table tests) or as a real child process (for stdout bytes). */
import { spawnSync } from "node:child_process";
import { runCli } from "../../src/cli/run.js";
import { CLI } from "./paths.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function irsa(...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

export function irsaProcess(...argv: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
