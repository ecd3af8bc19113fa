/** Checked reads of JSON documents (a Pod, a ServiceAccount) that name the offending field path. */
import type { IrsaError } from "./errors.js";

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  const t = typeof v;
  return t === "object" ? "an object" : t === "undefined" ? "nothing" : `a ${t}`;
}

/** A JSON text that must be an object; `bad(problem)` makes the caller's error for anything else. */
export function parseJsonObject(text: string, bad: (problem: string) => Error): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (!isObject(doc)) throw bad(`expected an object, got ${typeName(doc)}`);
  return doc;
}

/** `parent.key`, or `parent["key"]` when the key is not a plain identifier (annotation keys). */
export function fieldPath(parent: string, key: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key);
  if (plain) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Reads fields of one kind of document; every failure is `invalid(path, problem)`. */
export class Fields {
  constructor(private readonly invalid: (path: string, problem: string) => IrsaError) {}

  fail(path: string, problem: string): IrsaError {
    return this.invalid(path, problem);
  }

  /** An object, or undefined when the field is absent or null (as Go decodes a nil struct pointer). */
  optObject(parent: JsonObject, key: string, parentPath: string): JsonObject | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v))
      throw this.invalid(fieldPath(parentPath, key), `expected an object, got ${typeName(v)}`);
    return v;
  }

  /** An object that must be present (not null). */
  reqObject(parent: JsonObject, key: string, parentPath: string): JsonObject {
    const v = this.optObject(parent, key, parentPath);
    if (v === undefined) throw this.invalid(fieldPath(parentPath, key), "required object is missing");
    return v;
  }

  optBoolean(parent: JsonObject, key: string, parentPath: string): boolean | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean")
      throw this.invalid(fieldPath(parentPath, key), `expected a boolean, got ${typeName(v)}`);
    return v;
  }

  /** An array, or undefined when the field is absent or null (a nil slice). */
  optArray(parent: JsonObject, key: string, parentPath: string): unknown[] | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v))
      throw this.invalid(fieldPath(parentPath, key), `expected an array, got ${typeName(v)}`);
    return v as unknown[];
  }

  optString(parent: JsonObject, key: string, parentPath: string): string | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string")
      throw this.invalid(fieldPath(parentPath, key), `expected a string, got ${typeName(v)}`);
    return v;
  }

  reqString(parent: JsonObject, key: string, parentPath: string): string {
    const v = this.optString(parent, key, parentPath);
    if (v === undefined) throw this.invalid(fieldPath(parentPath, key), "required string is missing");
    return v;
  }

  /** A string that must be present and not empty. */
  nonEmptyString(parent: JsonObject, key: string, parentPath: string): string {
    const v = this.reqString(parent, key, parentPath);
    if (v === "") throw this.invalid(fieldPath(parentPath, key), "must not be empty");
    return v;
  }

  /** An array whose elements are all objects; undefined when absent or null. */
  optObjectArray(parent: JsonObject, key: string, parentPath: string): JsonObject[] | undefined {
    const items = this.optArray(parent, key, parentPath);
    if (items === undefined) return undefined;
    const path = fieldPath(parentPath, key);
    return items.map((_, i) => this.element(items, i, path));
  }

  /** A map[string]string such as annotations, labels or a nodeSelector; undefined when absent or null. */
  optStringMap(parent: JsonObject, key: string, parentPath: string): Record<string, string> | undefined {
    const m = this.optObject(parent, key, parentPath);
    if (m === undefined) return undefined;
    const path = fieldPath(parentPath, key);
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "string")
        throw this.invalid(fieldPath(path, k), `expected a string, got ${typeName(v)}`);
    }
    return m as Record<string, string>;
  }

  /** Element `i` of an array, which must be an object. */
  element(items: unknown[], i: number, arrayPath: string): JsonObject {
    const v = items[i];
    if (!isObject(v)) throw this.invalid(`${arrayPath}[${i}]`, `expected an object, got ${typeName(v)}`);
    return v;
  }
}
