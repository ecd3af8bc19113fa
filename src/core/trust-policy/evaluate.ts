/**
 * IAM policy evaluation for a role trust policy, as far as AssumeRoleWithWebIdentity needs it: the
 * decision (an explicit Deny wins over any Allow; no matching Allow is an implicit deny), the
 * statement that decided, and for every statement why it applies or not. Pure; never throws on a
 * parsed policy. Sources: IAM User Guide, reference_policies_evaluation-logic,
 * _elements_condition_operators and _multi-value-conditions.
 */
import type { Condition, Principal, Statement, TrustPolicy } from "./policy.js";
import { statementName } from "./policy.js";

/** What is asking: a principal of a type (`Federated`) with its id (the OIDC provider ARN). */
export interface PolicyRequest {
  readonly principalType: string;
  readonly principalId: string;
  readonly action: string;
  /**
   * Condition keys and their values. Key names are matched case-insensitively (as IAM does); a
   * single-valued key is a list of one; a key that is absent is simply not in the map.
   */
  readonly context: ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;
}

export interface ConditionResult {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
  /** The request's values for the key; undefined when the key is absent. */
  readonly actual: readonly string[] | undefined;
  readonly ok: boolean;
  readonly reason: string;
}

export interface StatementResult {
  readonly index: number;
  readonly sid: string | undefined;
  /** `Statement[1] (Sid "AllowApp")`. */
  readonly name: string;
  readonly effect: "Allow" | "Deny";
  readonly principalMatches: boolean;
  readonly actionMatches: boolean;
  readonly conditions: readonly ConditionResult[];
  /** The statement applies to this request: principal, action and every condition match. */
  readonly applies: boolean;
  readonly reason: string;
}

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

export interface PolicyDecision {
  readonly decision: Decision;
  readonly allowed: boolean;
  /** The statement that decided (the first applying Deny, else the first applying Allow); none for an implicit deny. */
  readonly deciding: StatementResult | undefined;
  readonly statements: readonly StatementResult[];
  /** One sentence: what decided and why. */
  readonly reason: string;
}

const globCache = new Map<string, RegExp>();

/**
 * IAM's wildcard match: `*` any run of characters, `?` exactly one; `${*}`, `${?}` and `${$}` are
 * the literal characters. Other policy variables (`${aws:username}`) are not expanded: they are
 * matched as written (no web identity request has a value for them that we could put in).
 */
export function iamGlob(pattern: string, text: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? "i" : "c"}${pattern}`;
  return (globCache.get(cacheKey) ?? remember(cacheKey, compileGlob(pattern, ignoreCase))).test(text);
}

function compileGlob(pattern: string, ignoreCase: boolean): RegExp {
  let src = "";
  // Stryker disable next-line EqualityOperator: pattern[pattern.length] is undefined, read as "" below
  for (let i = 0; i < pattern.length; i++) {
    const lit = /^\$\{([*?$])\}/.exec(pattern.slice(i));
    if (lit !== null) {
      // Stryker disable next-line StringLiteral: the pattern's group takes part in every match
      src += escapeRegex(lit[1] ?? "");
      i += 3;
      continue;
    }
    // Stryker disable next-line StringLiteral: i stays inside the pattern
    const c = pattern[i] ?? "";
    src += c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : escapeRegex(c);
  }
  return new RegExp(`^${src}$`, ignoreCase ? "iu" : "u");
}

/** Keeps a compiled pattern; the cache is emptied when it holds more than 10,000. */
function remember(cacheKey: string, re: RegExp): RegExp {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the cap only bounds memory; a pattern compiled again answers the same
  if (globCache.size > 10_000) globCache.clear();
  globCache.set(cacheKey, re);
  return re;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function lookup(ctx: PolicyRequest["context"], key: string): readonly string[] | undefined {
  const want = key.toLowerCase();
  const entries = ctx instanceof Map ? ctx.entries() : Object.entries(ctx);
  for (const [k, v] of entries as Iterable<[string, readonly string[]]>) {
    if (k.toLowerCase() === want) return v;
  }
  return undefined;
}

const NEGATED = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"]);

/** Whether one request value matches one policy value under the operator, before any negation. */
function matchOne(base: Condition["operator"]["base"], policyValue: string, value: string): boolean {
  switch (base) {
    case "StringEquals":
    case "StringNotEquals":
      return policyValue === value;
    case "StringEqualsIgnoreCase":
    case "StringNotEqualsIgnoreCase":
      return policyValue.toLowerCase() === value.toLowerCase();
    case "StringLike":
    case "StringNotLike":
      return iamGlob(policyValue, value);
    case "Bool":
      return policyValue.toLowerCase() === value.toLowerCase();
    case "Null":
      return false;
  }
}

/**
 * One request value against the condition's values: for a positive operator, it matches any of
 * them (OR); for a negated one, it matches none of them (the values act as AND, per IAM's
 * multi-value rules).
 */
function valueSatisfies(c: Condition, value: string): boolean {
  const any = c.values.some((p) => matchOne(c.operator.base, p, value));
  return NEGATED.has(c.operator.base) ? !any : any;
}

export function evaluateCondition(c: Condition, ctx: PolicyRequest["context"]): ConditionResult {
  const actual = lookup(ctx, c.key);
  const base = { operator: c.operator.text, key: c.key, values: c.values, actual };
  if (c.operator.base === "Null") {
    const absent = actual === undefined || actual.length === 0;
    const ok = c.values.some((v) => (v.toLowerCase() === "true") === absent);
    return { ...base, ok, reason: `${c.key} is ${absent ? "absent" : "present"}` };
  }
  const missing = actual === undefined || actual.length === 0;
  if (missing) {
    let ok: boolean;
    let why: string;
    if (c.operator.ifExists) {
      ok = true;
      why = "absent, and ...IfExists makes an absent key match";
    } else if (c.operator.set === "ForAllValues") {
      ok = true;
      why = "absent, and ForAllValues: is true for an absent or empty key";
    } else if (c.operator.set === "ForAnyValue") {
      ok = false;
      why = "absent, and ForAnyValue: is false for an absent or empty key";
    } else if (NEGATED.has(c.operator.base)) {
      ok = true;
      why = "absent, and a negated operator matches an absent key";
    } else {
      ok = false;
      why = "absent, so the condition does not match";
    }
    return { ...base, ok, reason: `${c.key} is ${why}` };
  }
  let ok: boolean;
  if (c.operator.set === "ForAllValues") ok = actual.every((v) => valueSatisfies(c, v));
  else if (c.operator.set === "ForAnyValue") ok = actual.some((v) => valueSatisfies(c, v));
  // A multi-valued key without a set qualifier: IAM documents that this should not be written;
  // how IAM evaluates it is not documented. We take it as "any value" for a positive operator and
  // "no value" for a negated one, the reading that never grants more than either alternative.
  else if (NEGATED.has(c.operator.base)) ok = actual.every((v) => valueSatisfies(c, v));
  else ok = actual.some((v) => valueSatisfies(c, v));
  const shown = JSON.stringify(actual.length === 1 ? actual[0] : actual);
  const want = c.values.length === 1 ? JSON.stringify(c.values[0]) : `one of ${JSON.stringify(c.values)}`;
  return {
    ...base,
    ok,
    reason: `${c.key} is ${shown}: ${c.operator.text} ${want} ${ok ? "matches" : "does not match"}`,
  };
}

function principalMatches(p: Principal, req: PolicyRequest): boolean {
  if (p === "*") return true;
  // {"AWS": "*"} is documented as the same as "*" (everyone, including federated users).
  if (p.AWS?.includes("*") === true) return true;
  return p[req.principalType]?.includes(req.principalId) === true;
}

/** Action names ignore case in IAM, and may use `*` and `?`. */
export function actionMatches(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) => iamGlob(p, action, true));
}

export function evaluateStatement(s: Statement, req: PolicyRequest): StatementResult {
  const name = statementName(s);
  const pm = principalMatches(s.principal, req);
  const am =
    s.action !== undefined
      ? actionMatches(s.action, req.action)
      : !actionMatches(s.notAction ?? [], req.action);
  const conditions = s.conditions.map((c) => evaluateCondition(c, req.context));
  const failed = conditions.find((c) => !c.ok);
  const applies = pm && am && failed === undefined;
  const reason = !pm
    ? `its Principal does not name ${req.principalType} ${req.principalId}`
    : !am
      ? `its ${s.action !== undefined ? "Action" : "NotAction"} does not cover ${req.action}`
      : failed !== undefined
        ? `condition ${failed.operator}: ${failed.reason}`
        : conditions.length === 0
          ? "principal and action match and it has no conditions"
          : "principal, action and every condition match";
  return {
    index: s.index,
    sid: s.sid,
    name,
    effect: s.effect,
    principalMatches: pm,
    actionMatches: am,
    conditions,
    applies,
    reason,
  };
}

/** Evaluates the whole policy: an applying Deny wins, else an applying Allow, else implicit deny. */
export function evaluateTrustPolicy(policy: TrustPolicy, req: PolicyRequest): PolicyDecision {
  const statements = policy.statements.map((s) => evaluateStatement(s, req));
  const deny = statements.find((s) => s.applies && s.effect === "Deny");
  if (deny !== undefined) {
    return {
      decision: "ExplicitDeny",
      allowed: false,
      deciding: deny,
      statements,
      reason: `${deny.name} denies: ${deny.reason} (an explicit Deny wins over any Allow)`,
    };
  }
  const allow = statements.find((s) => s.applies && s.effect === "Allow");
  if (allow !== undefined) {
    return {
      decision: "Allow",
      allowed: true,
      deciding: allow,
      statements,
      reason: `${allow.name} allows: ${allow.reason}`,
    };
  }
  const allows = statements.filter((s) => s.effect === "Allow");
  const why =
    allows.length === 0
      ? "the policy has no Allow statement"
      : allows.map((s) => `${s.name} does not apply: ${s.reason}`).join("; ");
  return {
    decision: "ImplicitDeny",
    allowed: false,
    deciding: undefined,
    statements,
    reason: `no statement allows: ${why}`,
  };
}
