/** One doctor check: its place in the chain, what it needs to have passed, and its verdict. Pure. */
import type { JsonObject } from "../json.js";
import type { KeySet } from "../sts/keys.js";
import type { Verdict } from "../sts/check.js";
import type { ParsedToken, TokenClaims } from "../sts/token.js";
import type { DoctorFacts } from "./facts.js";
import type { Group, Status } from "./report.js";

export interface Outcome {
  readonly status: Status;
  readonly detail: string;
  readonly fix?: string;
  readonly notes?: readonly string[];
}

/** What several checks read, computed once from the facts. */
export interface Derived {
  /** The published discovery document, when it is a JSON object. */
  readonly discovery: JsonObject | undefined;
  /** The published JWKS's keys, when it was fetched. */
  readonly published: KeySet | undefined;
  /** The TokenRequest token, taken apart. */
  readonly token: { readonly parsed: ParsedToken; readonly claims: TokenClaims | undefined } | undefined;
  /** The STS checks on the token against the published keys alone (any issuer, any audience). */
  readonly tokenVerdict: Verdict | undefined;
  /** The STS checks on the token against the IAM provider and role, as AWS STS would run them. */
  readonly iamVerdict: Verdict | undefined;
  /** Why the role's trust policy could not be parsed, when it could not. */
  readonly policyError: string | undefined;
}

export interface CheckDef {
  readonly id: string;
  readonly group: Group;
  readonly title: string;
  /** Checks that must have run and not failed: their skip is this one's skip, with their reason. */
  readonly needs: readonly string[];
  /** Checks that must not have failed, but may have been skipped; `*` is every check before. */
  readonly after?: readonly string[];
  run(f: DoctorFacts, d: Derived): Outcome;
}

export const pass = (detail: string, notes?: readonly string[]): Outcome => ({
  status: "pass",
  detail,
  ...(notes !== undefined && notes.length > 0 ? { notes } : {}),
});
export const warn = (detail: string, fix: string, notes?: readonly string[]): Outcome => ({
  status: "warn",
  detail,
  fix,
  ...(notes !== undefined && notes.length > 0 ? { notes } : {}),
});
export const fail = (detail: string, fix: string, notes?: readonly string[]): Outcome => ({
  status: "fail",
  detail,
  fix,
  ...(notes !== undefined && notes.length > 0 ? { notes } : {}),
});
export const skip = (detail: string): Outcome => ({ status: "skip", detail });

/** `a` and `b` differ only in trailing slashes. */
export function onlySlashDiffers(a: string, b: string): boolean {
  return a !== b && a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** "X" vs "Y", with the trailing-slash case named: STS compares issuers as strings. */
export function mismatch(a: string, b: string): string {
  return onlySlashDiffers(a, b)
    ? `${JSON.stringify(a)} and ${JSON.stringify(b)} differ only in a trailing slash, and AWS STS compares issuers as strings`
    : `${JSON.stringify(a)} is not ${JSON.stringify(b)}`;
}
