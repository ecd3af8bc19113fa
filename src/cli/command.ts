/** A tiny command framework over node:util parseArgs: --help everywhere, typed usage errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { IrsaError } from "../core/errors.js";
import { parseGoBool, parseGoDuration } from "../core/go/parse.js";
import { MAX_TIMER_MS } from "../runtime/signals.js";
import type { CliIO } from "./io.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  /** Words after `irsa`, e.g. ["keys", "generate"]. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Full help text (usage line, description, options with defaults). */
  readonly help: string;
  readonly options: Options;
  readonly positionals?: { readonly min: number; readonly max: number; readonly name: string };
  /** Rewrites argv before parsing (e.g. Go's `-flag` syntax). */
  normalizeArgs?(argv: readonly string[]): string[];
  run(values: Values, positionals: string[], io: CliIO): Promise<number>;
}

/** A command's module exports its body; `this` in `run` is the whole command. */
export type CommandBody = Omit<Command, "path" | "summary"> & ThisType<Command>;

/** What the registry knows of a command without loading it. */
export interface CommandEntry {
  readonly path: readonly string[];
  readonly summary: string;
  load(): Promise<CommandBody>;
}

export function usageError(message: string, cmd?: Command): IrsaError {
  return new IrsaError("USAGE", message, cmd ? `see: irsa ${cmd.path.join(" ")} --help` : "see: irsa --help");
}

/**
 * Go-style booleans: `--flag=true` and `--flag=false` (any form strconv.ParseBool accepts), as the
 * upstream webhook's manifests write them. parseArgs takes booleans only bare, so `--flag=true`
 * becomes `--flag`, and `--flag=false` is taken out and set after parsing (over any default).
 */
function goBooleans(cmd: Command, argv: string[]): { args: string[]; falses: string[] } {
  const args: string[] = [];
  const falses: string[] = [];
  for (const [i, a] of argv.entries()) {
    if (a === "--") return { args: [...args, ...argv.slice(i)], falses };
    const m = /^--([^=]+)=(.*)$/s.exec(a);
    const name = m?.[1] ?? "";
    if (m && cmd.options[name]?.type === "boolean") {
      const v = m[2] ?? "";
      const b = parseGoBool(v);
      if (b === true) {
        args.push(`--${name}`);
        falses.splice(0, falses.length, ...falses.filter((f) => f !== name));
      } else if (b === false) {
        falses.push(name);
        args.splice(0, args.length, ...args.filter((x) => x !== `--${name}`));
      } else {
        throw usageError(`--${name} takes true or false, got "${v}"`, cmd);
      }
      continue;
    }
    args.push(a);
  }
  return { args, falses };
}

export function parseCommandArgs(cmd: Command, argv: string[]): { values: Values; positionals: string[] } {
  const { args, falses } = goBooleans(cmd, cmd.normalizeArgs?.(argv) ?? argv);
  let parsed;
  try {
    parsed = parseArgs({ args, options: cmd.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""), cmd);
  }
  const { values, positionals } = parsed;
  for (const name of falses) values[name] = false;
  const p = cmd.positionals ?? { min: 0, max: 0, name: "" };
  if (positionals.length < p.min) throw usageError(`missing ${p.name}`, cmd);
  if (positionals.length > p.max) {
    throw usageError(`unexpected argument "${positionals[p.max] ?? ""}"`, cmd);
  }
  return { values, positionals };
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function strs(values: Values, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
}

/** A TCP port option (0 to 65535; 0 picks a free port), or `fallback` when absent. */
export function portOption(values: Values, name: string, fallback: number, cmd: Command): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) {
    throw usageError(`--${name} must be a port number (0-65535), got "${v}"`, cmd);
  }
  return Number(v);
}

export interface DurationLimits {
  /** The least value accepted (ms); 0 by default. */
  readonly min?: number;
  /** A duration a timer waits: at most MAX_TIMER_MS, which Node would otherwise fire at once. */
  readonly timer?: boolean;
  /** What the error shows as valid values. */
  readonly examples: string;
}

/** A Go duration option (500ms, 30s, 25h) in ms, or `fallback` when absent. */
export function durationOption(
  values: Values,
  name: string,
  fallback: number,
  cmd: Command,
  limits: DurationLimits,
): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const ms = parseGoDuration(v);
  if (ms === undefined || ms < (limits.min ?? 0)) {
    throw usageError(`--${name} must be a duration such as ${limits.examples}, got "${v}"`, cmd);
  }
  if (limits.timer === true && ms > MAX_TIMER_MS) {
    throw usageError(
      `--${name} must be at most 596h (the longest wait a timer holds, about 24.8 days), got "${v}"`,
      cmd,
    );
  }
  return ms;
}

export function requireStr(values: Values, name: string, cmd: Command): string {
  const v = str(values, name);
  if (v === undefined || v === "") throw usageError(`--${name} is required`, cmd);
  return v;
}

export function oneOf<T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
  fallback: T,
  cmd: Command,
): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw usageError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`, cmd);
  }
  return v as T;
}

export const OUTPUT_OPTION = { output: { type: "string", short: "o" } } as const satisfies Options;
