/** File-system edge: reading key files and writing outputs atomically (never half-written). */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IrsaError } from "../core/errors.js";
import { parseKeysPem, type LoadedKey } from "../core/oidc/keys.js";

export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
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
    throw new IrsaError("FILE_UNREADABLE", `cannot read ${what} ${path}: ${why}`, `check the path given`, {
      cause: e,
    });
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
