/** Process signals and cancellable waits. */
import type { Log } from "./log.js";

/** Resolves with the first SIGTERM or SIGINT, then stops listening for both. */
export function waitForSignal(log: Log): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off("SIGTERM", on);
      process.off("SIGINT", on);
      log.info({ signal: sig }, "signal received");
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

/** Waits `ms`, or less if `signal` aborts first; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Calls `fn` on every SIGHUP until the returned function is called. */
export function onHangup(log: Log, fn: () => void): () => void {
  const on = (): void => {
    log.info({ signal: "SIGHUP" }, "signal received");
    fn();
  };
  process.on("SIGHUP", on);
  return () => process.off("SIGHUP", on);
}
