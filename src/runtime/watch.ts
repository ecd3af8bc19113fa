/** File watching for files mounted from Kubernetes Secrets and ConfigMaps. */
import { watch as watchDir } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Log } from "./log.js";

export interface Watcher {
  close(): void;
}

/**
 * Calls `onChange` (debounced) when any of `files` may have changed: watches their directories
 * (a Kubernetes Secret or ConfigMap volume swaps a `..data` symlink, which a watch on the file
 * itself stops seeing after the first swap) and polls every `pollMs` as a backstop.
 */
export function watchFiles(
  files: readonly string[],
  onChange: () => unknown,
  log: Log,
  pollMs = 10_000,
): Watcher {
  const abort = new AbortController();
  let debounce: NodeJS.Timeout | undefined;
  const fire = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void onChange(), 100);
  };
  const dirs = new Set(files.map((f) => dirname(f)));
  const names = new Set(files.map((f) => basename(f)));
  for (const dir of dirs) {
    void (async () => {
      try {
        for await (const event of watchDir(dir, { signal: abort.signal })) {
          // A watched name, or Kubernetes' volume swap (`..data` and its `..<timestamp>` folders: a
          // Secret or ConfigMap update does not touch the file names). Anything else in the same
          // directory, such as a log file written there, is not ours to react to or to log.
          const name = event.filename;
          if (name !== null && !names.has(name) && !name.startsWith("..")) continue;
          log.debug({ dir, file: name }, "watched file changed");
          fire();
        }
      } catch (e) {
        if ((e as Error).name !== "AbortError") {
          log.warn({ dir, err: (e as Error).message }, "cannot watch directory; polling only");
        }
      }
    })();
  }
  const poll = setInterval(() => void onChange(), pollMs);
  poll.unref();
  return {
    close() {
      abort.abort();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}
