/**
 * The RFC 6902 JSON Patch subset the mutation emits: `add` only, each at a targeted path (one env
 * entry, one volume, one volumeMount, one label), never a whole container or container list.
 */
import { IrsaError } from "../errors.js";
import { isObject } from "../json.js";

export interface PatchOperation {
  readonly op: "add";
  /** RFC 6901 JSON Pointer. */
  readonly path: string;
  readonly value: unknown;
}

/** One reference token of a JSON Pointer (RFC 6901 §3): `~` is `~0`, `/` is `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function patchError(op: PatchOperation, problem: string): IrsaError {
  return new IrsaError("INPUT_INVALID", `cannot apply add at ${op.path}: ${problem}`);
}

/**
 * Applies `add` operations in order to `doc`, in place, as RFC 6902 §4.1 defines them: into an
 * object it sets the member, into an array it inserts at the index (`-` appends).
 */
export function applyAddOperations(doc: unknown, ops: readonly PatchOperation[]): void {
  for (const op of ops) {
    if (!op.path.startsWith("/")) throw patchError(op, "the path must start with /");
    const tokens = op.path.slice(1).split("/").map(unescapePointerToken);
    const last = tokens.pop() ?? "";
    let target: unknown = doc;
    for (const t of tokens) {
      if (Array.isArray(target) && /^(0|[1-9][0-9]*)$/.test(t) && Number(t) < target.length) {
        target = target[Number(t)];
      } else if (isObject(target) && Object.hasOwn(target, t)) {
        target = target[t];
      } else {
        throw patchError(op, `no member "${t}"`);
      }
    }
    const value = structuredClone(op.value);
    if (Array.isArray(target)) {
      if (last === "-") target.push(value);
      else if (/^(0|[1-9][0-9]*)$/.test(last) && Number(last) <= target.length) {
        target.splice(Number(last), 0, value);
      } else throw patchError(op, `bad array index "${last}"`);
    } else if (isObject(target)) {
      // defineProperty: an own member even for a key such as "__proto__".
      Object.defineProperty(target, last, { value, writable: true, enumerable: true, configurable: true });
    } else {
      throw patchError(op, "the parent is not an object or array");
    }
  }
}
