/**
 * The production logger: pino, JSON lines on stdout, buffered. Lines collect in memory and go out
 * in one asynchronous write when 8 KiB have built up, every 250 ms, and synchronously when the
 * process exits (pino flushes its destination on exit): one write per batch instead of one per
 * line, so a busy server does not wake the libuv threadpool and its own event loop for each line.
 */
import { pino } from "pino";
import type { Log, LogLevel } from "./log.js";

export interface ProcessLog extends Log {
  /** Writes out what is buffered; call before the process exits. */
  flush(): void;
}

/** Bytes of lines held back before a write. */
export const LOG_BUFFER_BYTES = 8192;
/** The longest a line waits in the buffer. */
export const LOG_FLUSH_INTERVAL_MS = 250;

/** JSON lines on stdout with an ISO time and `component`, at `level` and above. */
export function createLogger(component: string, level: LogLevel): ProcessLog {
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  return pino({ level, timestamp: pino.stdTimeFunctions.isoTime, base: { component } }, destination);
}
