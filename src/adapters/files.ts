/**
 * File-system edge: reading key files, writing outputs atomically (never half-written) and a lock
 * file for writers that must not interleave.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
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

export interface LockOptions {
  /** How long to wait for another holder to release it; default 5 s. */
  readonly waitMs?: number;
  /** A lock file older than this is from a crashed holder and is removed; default 30 s. */
  readonly staleMs?: number;
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, so exactly one process on the
 * file system holds it), removed afterwards. Rejects with LOCK_BUSY when it stays held for waitMs.
 */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const waitMs = o.waitMs ?? 5000;
  const staleMs = o.staleMs ?? 30_000;
  const deadline = Date.now() + waitMs;
  const token = `${process.pid} ${randomBytes(6).toString("hex")} ${new Date().toISOString()}\n`;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fh = await open(path, "wx", 0o644);
      try {
        await fh.writeFile(token);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const held = await stat(path).catch(() => undefined);
    if (held !== undefined && Date.now() - held.mtimeMs > staleMs) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new IrsaError(
        "LOCK_BUSY",
        `${path} has been held by another writer for over ${waitMs} ms`,
        `another process is writing here; a lock file left by a crash is removed after ${staleMs / 1000} s`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    return await fn();
  } finally {
    // Only our own lock: a holder that outlived staleMs may have lost it to another process.
    const now = await readFile(path, "utf8").catch(() => undefined);
    if (now === token) await rm(path, { force: true });
  }
}

export interface FileToWrite {
  readonly path: string;
  readonly data: string | Uint8Array;
  readonly mode: number;
}

/**
 * Writes several files as one: each goes to a temporary file beside its target (directories
 * created), fsynced; only when every one is written are they renamed into place. A failure
 * before that removes the temporary files and leaves every target as it was.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const staged: { tmp: string; path: string }[] = [];
  try {
    for (const f of files) {
      await mkdir(dirname(f.path), { recursive: true });
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${randomBytes(6).toString("hex")}.tmp`);
      const fh = await open(tmp, "wx", f.mode);
      staged.push({ tmp, path: f.path });
      try {
        await fh.writeFile(f.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await chmod(tmp, f.mode);
    }
  } catch (e) {
    for (const s of staged) await rm(s.tmp, { force: true });
    throw e;
  }
  for (const s of staged) await rename(s.tmp, s.path);
}
