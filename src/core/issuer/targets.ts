/** Where the issuer publishes: `s3://bucket[/prefix]` or `dir://PATH`. Pure parsing. */
import { IrsaError } from "../errors.js";
import { checkBucketName, normalizePrefix } from "./bucket-policy.js";

export type TargetSpec =
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string; readonly text: string }
  | { readonly kind: "dir"; readonly path: string; readonly text: string };

export function parseTarget(text: string, flag = "--to"): TargetSpec {
  const bad = (why: string): IrsaError =>
    new IrsaError(
      "TARGET_INVALID",
      `${flag} "${text}": ${why}`,
      `write s3://BUCKET[/PREFIX] or dir:///absolute/path (dir://relative/path is relative to the working directory)`,
    );
  if (text.startsWith("s3://")) {
    const rest = text.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket === "") throw bad("no bucket name");
    checkBucketName(bucket, flag);
    const prefix = normalizePrefix(slash < 0 ? "" : rest.slice(slash + 1));
    if (prefix.includes("//")) throw bad("the prefix has an empty path segment");
    return { kind: "s3", bucket, prefix, text };
  }
  if (text.startsWith("dir://")) {
    const path = text.slice("dir://".length);
    if (path === "") throw bad("no directory path");
    return { kind: "dir", path, text };
  }
  throw bad("unknown scheme");
}
