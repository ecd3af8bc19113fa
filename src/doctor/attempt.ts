/** Doctor's facts are gathered, never thrown: a failure becomes its message, read as a user would. */
import { failed, gathered, type Gathered } from "../core/doctor/facts.js";
import { isIrsaError } from "../core/errors.js";

export function message(e: unknown): string {
  if (isIrsaError(e)) return e.message;
  const body = (e as { body?: unknown }).body;
  if (typeof body === "string" && body !== "") {
    try {
      const m = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof m === "string") return m;
    } catch {
      // not JSON: fall through
    }
  }
  return e instanceof Error ? e.message : String(e);
}

export async function attempt<T>(fn: () => Promise<T>): Promise<Gathered<T>> {
  try {
    return gathered(await fn());
  } catch (e) {
    return failed(message(e));
  }
}
