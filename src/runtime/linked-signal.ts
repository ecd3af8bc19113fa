/**
 * A child AbortSignal linked to a parent, instead of `AbortSignal.any([parent, ...])`.
 *
 * Why: on Node 20 every `AbortSignal.any` call records the new signal in each
 * source signal's internal set of dependants and never takes it out (nodejs/node#55351), so
 * deriving a signal per call from a long-lived one (the ServiceAccount cache's stop signal) grows
 * that set without bound. Here the child holds one ordinary "abort" listener on the parent, removed
 * as soon as the child aborts or `dispose()` is called.
 */
export interface LinkedSignal {
  /** Aborts when the parent aborts (with its reason), after `timeoutMs`, or on `abort()`. */
  readonly signal: AbortSignal;
  /** Aborts the child only; the parent is untouched. */
  abort(reason?: unknown): void;
  /** Unlinks from the parent and stops the timer, leaving the child as it is. Idempotent; call when done. */
  dispose(): void;
}

/**
 * `timeoutMs`: also abort with a "TimeoutError" DOMException after this long, as
 * `AbortSignal.timeout` does (the timer does not keep the process alive).
 */
export function linkedSignal(parent: AbortSignal, timeoutMs?: number): LinkedSignal {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const dispose = (): void => {
    parent.removeEventListener("abort", onParentAbort);
    clearTimeout(timer);
    timer = undefined;
  };
  const abort = (reason?: unknown): void => {
    dispose();
    controller.abort(reason);
  };
  function onParentAbort(): void {
    abort(parent.reason);
  }
  if (parent.aborted) {
    controller.abort(parent.reason);
  } else {
    parent.addEventListener("abort", onParentAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
      }, timeoutMs);
      timer.unref();
    }
  }
  return { signal: controller.signal, abort, dispose };
}
