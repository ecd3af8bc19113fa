/**
 * HCL for teams that manage IAM with Terraform: the OIDC provider, the role with its trust policy in
 * `jsonencode`, and the attachments. Written the way `terraform fmt` writes it (two-space indents,
 * `=` aligned across consecutive one-line attributes). Pure.
 */
import type { TrustPolicyDocument } from "./trust-policy.js";

/**
 * A string literal: JSON escapes, plus `$${` and `%%{` so templates stay literal. The replacements
 * are functions: in a replacement string, `$$` would stand for one `$`.
 */
export function hclString(s: string): string {
  return JSON.stringify(s)
    .replace(/\$\{/g, () => "$${")
    .replace(/%\{/g, () => "%%{");
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : hclString(k);
}

/** An HCL expression for a JSON value, indented by `indent` spaces after its first line. */
export function hclValue(v: unknown, indent = 0): string {
  const pad = " ".repeat(indent + 2);
  if (typeof v === "string") return hclString(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== "object" || x === null))
      return `[${v.map((x) => hclValue(x)).join(", ")}]`;
    return `[\n${v.map((x) => `${pad}${hclValue(x, indent + 2)},`).join("\n")}\n${" ".repeat(indent)}]`;
  }
  return `{\n${attributes(Object.entries(v as Record<string, unknown>), indent + 2)}\n${" ".repeat(indent)}}`;
}

/** Attribute lines at `indent`, `=` aligned across runs of one-line values. */
export function attributes(entries: readonly (readonly [string, unknown])[], indent: number): string {
  const pad = " ".repeat(indent);
  const rendered = entries.map(([k, v]) => {
    const value =
      typeof v === "object" && v !== null && "hcl" in v ? (v as { hcl: string }).hcl : hclValue(v, indent);
    return { k: key(k), value, single: !value.includes("\n") };
  });
  const lines: string[] = [];
  let i = 0;
  while (i < rendered.length) {
    let j = i;
    while (j < rendered.length && rendered[j]?.single === true) j++;
    const run = j > i ? rendered.slice(i, j) : rendered.slice(i, i + 1);
    const width = Math.max(...run.map((r) => r.k.length));
    // A multi-line value is a run of its own, so its key is never padded.
    for (const r of run) lines.push(`${pad}${r.k.padEnd(width)} = ${r.value}`);
    i += run.length;
  }
  return lines.join("\n");
}

/** Raw HCL, put in as is (a reference or a function call). */
export function raw(hcl: string): { hcl: string } {
  return { hcl };
}

function block(head: string, entries: readonly (readonly [string, unknown])[]): string {
  return `${head} {\n${attributes(entries, 2)}\n}\n`;
}

export function terraformIdent(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_-]/g, "_");
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

export function providerHcl(
  url: string,
  clientIds: readonly string[],
  thumbprints: readonly string[],
): string {
  return block(`resource "aws_iam_openid_connect_provider" "irsa"`, [
    ["url", url],
    ["client_id_list", clientIds],
    ["thumbprint_list", thumbprints],
  ]);
}

/** The trust policy alone, as a local value to reference from a role. */
export function trustPolicyHcl(doc: TrustPolicyDocument): string {
  return block("locals", [["irsa_trust_policy", raw(`jsonencode(${hclValue(doc, 2)})`)]]);
}

export function roleHcl(
  name: string,
  doc: TrustPolicyDocument,
  policyArns: readonly string[],
  maxSessionDuration: number | undefined,
): string {
  const id = terraformIdent(name);
  const role = block(`resource "aws_iam_role" "${id}"`, [
    ["name", name],
    ...(maxSessionDuration !== undefined ? [["max_session_duration", maxSessionDuration] as const] : []),
    ["assume_role_policy", raw(`jsonencode(${hclValue(doc, 2)})`)],
  ]);
  const attachments = policyArns.map((arn, i) =>
    block(`resource "aws_iam_role_policy_attachment" "${id}_${i}"`, [
      ["role", raw(`aws_iam_role.${id}.name`)],
      ["policy_arn", arn],
    ]),
  );
  return [role, ...attachments].join("\n");
}
