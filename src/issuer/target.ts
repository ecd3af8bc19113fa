/** The places the issuer publishes to, behind one small interface: S3 (or compatible) and a directory. */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { objectKey } from "../core/issuer/bucket-policy.js";
import type { StoredObject } from "../core/issuer/plan.js";
import type { TargetSpec } from "../core/issuer/targets.js";
import { IrsaError } from "../core/errors.js";
import { writeFileAtomic } from "../adapters/files.js";
import { s3Client, S3Store, type S3Options } from "../adapters/aws/s3.js";

export interface Target {
  /** As given on the command line, for logs and metric labels. */
  readonly name: string;
  /** `object` relative to the issuer root, e.g. "openid/v1/jwks"; undefined when absent. */
  read(object: string): Promise<StoredObject | undefined>;
  write(object: string, body: string, contentType: string, cacheControl: string | undefined): Promise<void>;
  close(): void;
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

/** A directory: each object a file, written atomically (temporary file, fsync, rename). */
export function dirTarget(root: string, name = `dir://${root}`): Target {
  const base = resolve(root);
  return {
    name,
    async read(object) {
      const path = join(base, object);
      try {
        return { body: await readFile(path), contentType: undefined };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw fsError(e, "read", path);
      }
    },
    async write(object, body) {
      const path = join(base, object);
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFileAtomic(path, body, 0o644);
      } catch (e) {
        throw fsError(e, "write", path);
      }
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
      return o === undefined ? undefined : { body: o.body, contentType: o.contentType };
    },
    write(object, body, contentType, cacheControl) {
      return store.put(objectKey(prefix, object), body, contentType, cacheControl);
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
