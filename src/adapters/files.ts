/** File-system edge: reading key files and writing outputs atomically (never half-written). */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IrsaError } from "../core/errors.js";
import { parseKeysPem, type LoadedKey } from "../core/oidc/keys.js";

/** 3 MiB: kube-apiserver's own request limit, more than any manifest or key file needs. */
export const MAX_TEXT_FILE_BYTES = 3 * 1024 * 1024;

/**
 * A regular file's text, at most `maxBytes`. A FIFO, device or directory is refused without
 * opening it for a blocking read (a FIFO with no writer would wait forever), and an oversized file
 * without reading it whole.
 */
export async function readTextFile(
  path: string,
  what: string,
  maxBytes = MAX_TEXT_FILE_BYTES,
): Promise<string> {
  const unreadable = (why: string, hint: string, cause?: unknown): IrsaError =>
    new IrsaError("FILE_UNREADABLE", `cannot read ${what} ${path}: ${why}`, hint, { cause });
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (e as Error).message;
    throw unreadable(why, "check the path given", e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      const kind = st.isDirectory() ? "a directory" : st.isFIFO() ? "a pipe (FIFO)" : "not a regular file";
      throw unreadable(`it is ${kind}`, "give a regular file (save piped input to a file first)");
    }
    if (st.size > maxBytes) {
      throw unreadable(
        `${st.size} bytes, over the ${maxBytes}-byte limit`,
        `give the ${what} itself, not a larger file`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - size));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      size += bytesRead;
      if (size > maxBytes) {
        throw unreadable(
          `grew past the ${maxBytes}-byte limit while being read`,
          "give a file that is not being written",
        );
      }
    }
    return Buffer.concat(chunks, size).toString("utf8");
  } catch (e) {
    if (e instanceof IrsaError) throw e;
    throw unreadable((e as Error).message, "check the path given", e);
  } finally {
    await handle.close();
  }
}

export async function readKeyFile(path: string): Promise<LoadedKey[]> {
  return parseKeysPem(await readTextFile(path, "key file"), path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync, then rename.
 * A crash leaves either the old file or the new one, never a partial one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
