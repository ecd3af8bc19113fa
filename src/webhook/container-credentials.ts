/** The container-credentials (EKS Pod Identity) account list, kept current from its file. */
import { readFile } from "node:fs/promises";
import { IrsaError, isIrsaError } from "../core/errors.js";
import type { Log } from "../runtime/log.js";
import { watchFiles } from "../runtime/watch.js";

/**
 * --watch-container-credentials-config: the listed accounts, re-read when the file changes. The
 * first read must succeed; later a bad file is logged and the previous list kept.
 */
export async function watchContainerCredentials(
  file: string,
  parse: (text: string, source: string) => ReadonlySet<string>,
  log: Log,
  pollMs?: number,
): Promise<{ current(): ReadonlySet<string>; close(): void }> {
  const read = async (): Promise<ReadonlySet<string>> => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new IrsaError(
        "FILE_UNREADABLE",
        `cannot read container credentials config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        "check --watch-container-credentials-config",
        { cause: e },
      );
    }
    return parse(text, file);
  };
  let current = await read();
  let lastError = "";
  log.info({ file, identities: current.size }, "container credentials config loaded");
  const reload = async (): Promise<void> => {
    try {
      const next = await read();
      const text = [...next].sort().join("\n");
      if (text === [...current].sort().join("\n")) return;
      current = next;
      lastError = "";
      log.info({ file, identities: next.size }, "container credentials config reloaded");
    } catch (e) {
      const msg = isIrsaError(e) ? e.message : String(e);
      if (msg !== lastError) {
        lastError = msg;
        log.error({ file, err: msg }, "container credentials config rejected; keeping the previous one");
      }
    }
  };
  const w = watchFiles([file], reload, log, pollMs);
  return {
    current: () => current,
    close: () => {
      w.close();
    },
  };
}
