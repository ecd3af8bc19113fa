/**
 * An IAM role trust policy, parsed and checked: every problem names its path in the document
 * (`Statement[1].Condition.StringEquals`). Pure.
 */
import { IrsaError } from "../errors.js";
import { Fields, fieldPath, isObject, typeName, type JsonObject } from "../json.js";

export type Effect = "Allow" | "Deny";

/** A condition operator as IAM spells it, taken apart: `ForAnyValue:StringLikeIfExists`. */
export interface Operator {
  /** As written in the policy, for messages. */
  readonly text: string;
  readonly base: BaseOperator;
  readonly set: "ForAnyValue" | "ForAllValues" | undefined;
  readonly ifExists: boolean;
}

export const BASE_OPERATORS = [
  "StringEquals",
  "StringNotEquals",
  "StringEqualsIgnoreCase",
  "StringNotEqualsIgnoreCase",
  "StringLike",
  "StringNotLike",
  "Bool",
  "Null",
] as const;
export type BaseOperator = (typeof BASE_OPERATORS)[number];

export interface Condition {
  readonly operator: Operator;
  /** As written, for messages; matched case-insensitively (IAM condition key names ignore case). */
  readonly key: string;
  /** IAM turns numbers and booleans in condition values into strings. */
  readonly values: readonly string[];
}

/** `Principal`: "*" (anyone) or the principals by type (Federated, AWS, Service). */
export type Principal = "*" | Readonly<Record<string, readonly string[]>>;

export interface Statement {
  /** Position in `Statement` (0 when it is a single object). */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly principal: Principal;
  /** Either `action` or `notAction` is set. */
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  readonly conditions: readonly Condition[];
}

export interface TrustPolicy {
  readonly version: string | undefined;
  readonly statements: readonly Statement[];
}

/** How a statement is named in findings: `Statement[1] (Sid "AllowApp")`. */
export function statementName(s: Pick<Statement, "index" | "sid">): string {
  return s.sid === undefined || s.sid === ""
    ? `Statement[${s.index}]`
    : `Statement[${s.index}] (Sid "${s.sid}")`;
}

const fields = new Fields(
  (path, problem) =>
    new IrsaError(
      "POLICY_INVALID",
      `trust policy: ${path === "" ? "" : `${path}: `}${problem}`,
      "fix the trust policy document (IAM refuses it too, with MalformedPolicyDocument)",
    ),
);

export function parseOperator(text: string): Operator | undefined {
  let rest = text;
  let set: Operator["set"];
  for (const q of ["ForAnyValue", "ForAllValues"] as const) {
    // IAM spells the qualifiers exactly so; operator names are matched case-sensitively too.
    if (rest.startsWith(`${q}:`)) {
      set = q;
      rest = rest.slice(q.length + 1);
      // One qualifier at most: "ForAnyValue:ForAllValues:StringEquals" is no operator.
      break;
    }
  }
  const ifExists = rest.endsWith("IfExists");
  if (ifExists) rest = rest.slice(0, -"IfExists".length);
  const base = BASE_OPERATORS.find((o) => o === rest);
  if (base === undefined) return undefined;
  // IAM refuses "NullIfExists": a Null condition is about existence already.
  if (base === "Null" && (ifExists || set !== undefined)) return undefined;
  return { text, base, set, ifExists };
}

/** A string or a list of strings; numbers and booleans are taken as IAM takes them, as strings. */
function scalarList(v: unknown, path: string, allowScalars: boolean): string[] {
  const items = Array.isArray(v) ? (v as unknown[]) : [v];
  if (items.length === 0) throw fields.fail(path, "must not be an empty list");
  return items.map((x, i) => {
    if (typeof x === "string") return x;
    if (allowScalars && (typeof x === "number" || typeof x === "boolean")) return String(x);
    throw fields.fail(Array.isArray(v) ? `${path}[${i}]` : path, `expected a string, got ${typeName(x)}`);
  });
}

function parsePrincipal(v: unknown, path: string): Principal {
  if (v === "*") return "*";
  if (!isObject(v))
    throw fields.fail(path, `expected "*" or an object such as {"Federated": ARN}, got ${typeName(v)}`);
  const out: Record<string, string[]> = {};
  for (const [type, value] of Object.entries(v)) {
    out[type] = scalarList(value, fieldPath(path, type), false);
  }
  if (Object.keys(out).length === 0) throw fields.fail(path, "names no principal");
  return out;
}

function parseConditions(block: JsonObject, path: string): Condition[] {
  const out: Condition[] = [];
  for (const [opText, keys] of Object.entries(block)) {
    const opPath = fieldPath(path, opText);
    const operator = parseOperator(opText);
    if (operator === undefined) {
      throw fields.fail(
        opPath,
        `unsupported condition operator "${opText}" (supported: ${BASE_OPERATORS.join(", ")}, with ForAnyValue:, ForAllValues: and ...IfExists)`,
      );
    }
    if (!isObject(keys))
      throw fields.fail(opPath, `expected an object of condition keys, got ${typeName(keys)}`);
    for (const [key, values] of Object.entries(keys)) {
      const vals = scalarList(values, fieldPath(opPath, key), true);
      if (operator.base === "Null" || operator.base === "Bool") {
        for (const x of vals) {
          if (!/^(true|false)$/i.test(x)) {
            throw fields.fail(fieldPath(opPath, key), `${operator.base} takes "true" or "false", got "${x}"`);
          }
        }
      }
      out.push({ operator, key, values: vals });
    }
  }
  return out;
}

function parseStatement(s: JsonObject, index: number, path: string): Statement {
  const effect = fields.reqString(s, "Effect", path);
  if (effect !== "Allow" && effect !== "Deny") {
    throw fields.fail(fieldPath(path, "Effect"), `must be "Allow" or "Deny", got "${effect}"`);
  }
  if (s.NotPrincipal !== undefined) {
    throw fields.fail(
      fieldPath(path, "NotPrincipal"),
      "is not supported in a role trust policy (IAM refuses it)",
    );
  }
  if (s.Principal === undefined)
    throw fields.fail(fieldPath(path, "Principal"), "a trust policy statement needs a Principal");
  const principal = parsePrincipal(s.Principal, fieldPath(path, "Principal"));
  if ((s.Action === undefined) === (s.NotAction === undefined)) {
    throw fields.fail(path, "needs exactly one of Action and NotAction");
  }
  const action = s.Action === undefined ? undefined : scalarList(s.Action, fieldPath(path, "Action"), false);
  const notAction =
    s.NotAction === undefined ? undefined : scalarList(s.NotAction, fieldPath(path, "NotAction"), false);
  if (s.Resource !== undefined || s.NotResource !== undefined) {
    throw fields.fail(
      fieldPath(path, "Resource"),
      "a trust policy has no Resource (the role is the resource)",
    );
  }
  const cond = fields.optObject(s, "Condition", path);
  const sid = fields.optString(s, "Sid", path);
  for (const k of Object.keys(s)) {
    if (!["Sid", "Effect", "Principal", "Action", "NotAction", "Condition"].includes(k)) {
      throw fields.fail(fieldPath(path, k), "unknown statement element");
    }
  }
  return {
    index,
    sid,
    effect,
    principal,
    action,
    notAction,
    conditions: cond === undefined ? [] : parseConditions(cond, fieldPath(path, "Condition")),
  };
}

/** Parses a trust policy: a JSON text or an already parsed value. Throws IrsaError POLICY_INVALID. */
export function parseTrustPolicy(doc: unknown): TrustPolicy {
  let v = doc;
  if (typeof doc === "string") {
    try {
      v = JSON.parse(doc) as unknown;
    } catch (e) {
      throw fields.fail("", `not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(v)) throw fields.fail("", `expected an object, got ${typeName(v)}`);
  const version = fields.optString(v, "Version", "");
  if (version !== undefined && version !== "2012-10-17" && version !== "2008-10-17") {
    throw fields.fail("Version", `must be "2012-10-17" (or the old "2008-10-17"), got "${version}"`);
  }
  const raw = v.Statement;
  if (raw === undefined) throw fields.fail("Statement", "required element is missing");
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (list.length === 0) throw fields.fail("Statement", "must not be empty");
  const statements = list.map((s, i) => {
    const path = Array.isArray(raw) ? `Statement[${i}]` : "Statement";
    if (!isObject(s)) throw fields.fail(path, `expected an object, got ${typeName(s)}`);
    return parseStatement(s, i, path);
  });
  return { version, statements };
}
