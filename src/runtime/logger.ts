/** The production logger: pino, JSON lines on stdout. */
import { pino } from "pino";
import type { Log, LogLevel } from "./log.js";

export interface ProcessLog extends Log {
  /** Writes out what is buffered; call before the process exits. */
  flush(): void;
}

/** JSON lines on stdout with an ISO time and `component`, at `level` and above. */
export function createLogger(component: string, level: LogLevel): ProcessLog {
  return pino({ level, timestamp: pino.stdTimeFunctions.isoTime, base: { component } });
}
