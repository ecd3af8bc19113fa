/**
 * A log whose lines are rate-limited per message: for input a client controls (a malformed request
 * on every call), one line per problem now and then says as much as thousands, and thousands cost
 * disk, CPU and the attention of whoever reads them. Lines dropped are counted, and the next line
 * of the same message that gets through carries `suppressed: n`.
 */
import type { Log } from "./log.js";
import { TokenBucket } from "./rate-limit.js";

export interface RateLimitedLogOptions {
  /** Lines of one message allowed per second on average; default 1. */
  readonly perSecond?: number;
  /** Lines of one message allowed at once; default 10. */
  readonly burst?: number;
  /** Distinct messages tracked; beyond this, untracked messages share one bucket. Default 100. */
  readonly maxMessages?: number;
  readonly now?: () => number;
}

type Level = "debug" | "info" | "warn" | "error";

/** `log`, with each message (per level) limited to a token bucket. */
export function rateLimitedLog(log: Log, o: RateLimitedLogOptions = {}): Log {
  const buckets = new Map<string, { bucket: TokenBucket; suppressed: number }>();
  const maxMessages = o.maxMessages ?? 100;
  const bucketOf = (key: string): { bucket: TokenBucket; suppressed: number } => {
    let b = buckets.get(key);
    if (b === undefined) {
      const k = buckets.size >= maxMessages ? "\0overflow" : key;
      b = buckets.get(k);
      if (b === undefined) {
        b = {
          bucket: new TokenBucket({
            perSecond: o.perSecond ?? 1,
            burst: o.burst ?? 10,
            ...(o.now !== undefined && { now: o.now }),
          }),
          suppressed: 0,
        };
        buckets.set(k, b);
      }
    }
    return b;
  };
  const at =
    (level: Level) =>
    (obj: object, msg: string): void => {
      const b = bucketOf(`${level} ${msg}`);
      if (!b.bucket.take()) {
        b.suppressed++;
        return;
      }
      if (b.suppressed > 0) {
        const suppressed = b.suppressed;
        b.suppressed = 0;
        log[level]({ ...obj, suppressed }, msg);
      } else {
        log[level](obj, msg);
      }
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    ...(log.isLevelEnabled !== undefined && { isLevelEnabled: log.isLevelEnabled.bind(log) }),
  };
}
