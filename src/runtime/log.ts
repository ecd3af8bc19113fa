/**
 * The logger every server of ours takes: a structured Log interface (pino's Logger fits); the
 * production one is in logger.ts (JSON lines on stdout), a silent one here for benchmarks and tests.
 */
/** Structured logger; pino's Logger fits. */
export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** Whether lines at `level` are written (pino's); absent: assume they are. */
  isLevelEnabled?(level: LogLevel): boolean;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const nothing = (): void => undefined;

/** Drops every line. */
export const silentLog: Log = {
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
  isLevelEnabled: () => false,
};
