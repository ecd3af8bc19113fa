/**
 * The places the issuer publishes to, behind one small interface: S3 (or compatible) and a
 * directory. Every write is conditional on the version read (compare-and-swap), so two replicas
 * never overwrite each other's merge unseen: S3 with If-Match / If-None-Match, a directory under
 * a lock file that makes the compare and the rename one step.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { objectKey } from "../core/issuer/bucket-policy.js";
import { etagOf } from "../core/issuer/http-cache.js";
import type { StoredObject } from "../core/issuer/plan.js";
import type { TargetSpec } from "../core/issuer/targets.js";
import { IrsaError } from "../core/errors.js";
import { withLockFile, writeFileAtomic } from "../adapters/files.js";
import { s3Client, S3Store, type S3Options } from "../adapters/aws/s3.js";

export interface Target {
  /** As given on the command line, for logs and metric labels. */
  readonly name: string;
  /** `object` relative to the issuer root, e.g. "openid/v1/jwks", with its etag; undefined when absent. */
  read(object: string): Promise<StoredObject | undefined>;
  /**
   * Writes `object` only if it is still the version `replaces` (an etag from read), or still absent
   * when `replaces` is undefined; otherwise rejects with TARGET_CONFLICT. Resolves to the new etag.
   */
  write(
    object: string,
    body: string,
    contentType: string,
    cacheControl: string | undefined,
    replaces: string | undefined,
  ): Promise<string | undefined>;
  close(): void;
}

/** The lock file a directory target's writers take; beside the documents, never published. */
export const DIR_LOCK_FILE = ".irsa-issuer.lock";

function dirConflict(path: string, replaces: string | undefined, now: string | undefined): IrsaError {
  const was = replaces === undefined ? "absent" : `version ${replaces}`;
  return new IrsaError(
    "TARGET_CONFLICT",
    `${path} changed since it was read (another writer): expected ${was}, found ${now === undefined ? "none" : `version ${now}`}`,
    "the sync reads it again and merges; another replica is publishing to the same place",
  );
}

function fsError(e: unknown, verb: string, path: string): IrsaError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  const refused = code === "EACCES" || code === "EPERM" || code === "EROFS";
  return new IrsaError(
    refused ? "TARGET_WRITE_REFUSED" : "TARGET_UNREACHABLE",
    `cannot ${verb} ${path}: ${code}`,
    refused ? "give the issuer write access to the directory" : "check the dir:// path and its file system",
    { cause: e },
  );
}

/**
 * A directory: each object a file, written atomically (temporary file, fsync, rename). The etag is
 * the hash of the bytes; the compare and the rename happen under DIR_LOCK_FILE, so readers never
 * wait and writers never interleave.
 */
export function dirTarget(root: string, name = `dir://${root}`): Target {
  const base = resolve(root);
  const readAt = async (path: string): Promise<StoredObject | undefined> => {
    try {
      const body = await readFile(path);
      return { body, contentType: undefined, etag: etagOf(body) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw fsError(e, "read", path);
    }
  };
  return {
    name,
    read: (object) => readAt(join(base, object)),
    async write(object, body, _contentType, _cacheControl, replaces) {
      const path = join(base, object);
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (e) {
        throw fsError(e, "write", path);
      }
      return withLockFile(join(base, DIR_LOCK_FILE), async () => {
        const now = (await readAt(path))?.etag;
        if (now !== replaces) throw dirConflict(path, replaces, now);
        try {
          await writeFileAtomic(path, body, 0o644);
        } catch (e) {
          throw fsError(e, "write", path);
        }
        return etagOf(body);
      }).catch((e: unknown) => {
        throw e instanceof IrsaError ? e : fsError(e, "write", path);
      });
    },
    close() {
      /* nothing held open */
    },
  };
}

/** A bucket and prefix; objects carry their content type and Cache-Control. */
export function s3Target(store: S3Store, prefix: string, name: string): Target {
  return {
    name,
    async read(object) {
      const o = await store.get(objectKey(prefix, object));
      return o === undefined ? undefined : { body: o.body, contentType: o.contentType, etag: o.etag };
    },
    write(object, body, contentType, cacheControl, replaces) {
      return store.put(
        objectKey(prefix, object),
        body,
        contentType,
        cacheControl,
        replaces === undefined ? { ifNoneMatch: "*" } : { ifMatch: replaces },
      );
    },
    close() {
      store.destroy();
    },
  };
}

export function openTarget(spec: TargetSpec, s3: S3Options): Target {
  if (spec.kind === "dir") return dirTarget(spec.path, spec.text);
  return s3Target(new S3Store(s3Client(s3), spec.bucket), spec.prefix, spec.text);
}
