/**
 * The CLI boundary: dispatches argv to a command and maps errors to exit codes in one place:
 * 0 ok, 1 failure, 2 usage error.
 */
import { isIrsaError, type ErrorCode } from "../core/errors.js";
import { parseCommandArgs, type Command, type CommandEntry } from "./command.js";
import type { CliIO } from "./io.js";
import { COMMANDS } from "./registry.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Usage errors exit 2; everything else, a failed doctor check (CHECKS_FAILED) too, exits 1. */
export function exitCodeFor(code: ErrorCode): number {
  return code === "USAGE" ? EXIT_USAGE : EXIT_FAILURE;
}

function topHelp(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  const lines = commands.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
  return `irsa: IAM Roles for Service Accounts on any Kubernetes cluster

Usage: irsa <command> [options]

Commands:
${lines.join("\n")}

Run "irsa <command> --help" for a command's options. Exit codes: 0 ok, 1 failure, 2 usage error.
`;
}

function groupHelp(prefix: string, commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  return `Usage: irsa ${prefix} <command> [options]\n\nCommands:\n${commands
    .map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`)
    .join("\n")}\n`;
}

function isHelp(a: string | undefined): boolean {
  return a === "--help" || a === "-h" || a === "help";
}

/** Whether `arg` is an option that takes the next argument as its value (`--out DIR`, `-o json`). */
function takesValue(cmd: Command, arg: string): boolean {
  const long = /^--([^=]+)$/.exec(arg)?.[1];
  if (long !== undefined) return cmd.options[long]?.type === "string";
  const short = /^-([^-])$/.exec(arg)?.[1];
  if (short === undefined) return false;
  return Object.values(cmd.options).some((o) => o.short === short && o.type === "string");
}

/** A help flag among a command's arguments: not an option's value (`--out help`), not after `--`. */
function wantsHelp(cmd: Command, rest: readonly string[]): boolean {
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? "";
    if (arg === "--") return false;
    if (isHelp(arg)) return true;
    if (takesValue(cmd, arg)) i++;
  }
  return false;
}

/** Longest command path that prefixes argv. */
function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let best: CommandEntry | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => argv[i] === w) && (best === undefined || c.path.length > best.path.length))
      best = c;
  }
  return best ? { entry: best, rest: argv.slice(best.path.length) } : undefined;
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  if (argv.length === 0 || isHelp(argv[0])) {
    io.out(topHelp(COMMANDS));
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
    if (group.length > 0 && (argv.length === 1 || isHelp(argv[1]))) {
      io.out(groupHelp(argv[0] ?? "", group));
      return argv.length === 1 ? EXIT_USAGE : EXIT_OK;
    }
    const what = group.length > 0 ? `${argv[0] ?? ""} ${argv[1] ?? ""}` : (argv[0] ?? "");
    io.err(`irsa: unknown command "${what}"\n  hint: see: irsa --help\n`);
    return EXIT_USAGE;
  }
  const { entry, rest } = found;
  const cmd: Command = { ...(await entry.load()), path: entry.path, summary: entry.summary };
  if (wantsHelp(cmd, rest)) {
    io.out(cmd.help);
    return EXIT_OK;
  }
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
    return await cmd.run(values, positionals, io);
  } catch (e) {
    if (isIrsaError(e)) {
      io.err(`irsa ${cmd.path.join(" ")}: ${e.describe()}\n`);
      return exitCodeFor(e.code);
    }
    io.err(
      `irsa ${cmd.path.join(" ")}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return EXIT_FAILURE;
  }
}
