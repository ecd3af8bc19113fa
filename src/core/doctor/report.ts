/**
 * What `irsa doctor` reports: one finding per check, in chain order, each pass, warn, fail or skip,
 * with what was seen and, for a failure or a warning, how to fix it. The JSON form is the report
 * itself (REPORT_SCHEMA). Pure.
 */

export const GROUPS = ["issuer", "cluster", "webhook", "iam", "exchange"] as const;
export type Group = (typeof GROUPS)[number];

export const GROUP_TITLES: Readonly<Record<Group, string>> = {
  issuer: "1 Issuer",
  cluster: "2 Cluster",
  webhook: "3 Webhook",
  iam: "4 IAM",
  exchange: "5 Exchange",
};

export const STATUSES = ["pass", "warn", "fail", "skip"] as const;
export type Status = (typeof STATUSES)[number];

export interface Finding {
  /** Stable id, such as `cluster-keys`. */
  readonly id: string;
  readonly group: Group;
  /** What the check checks, in a few words. */
  readonly title: string;
  readonly status: Status;
  /** What was seen; for a failure its cause; for a skip the reason. */
  readonly detail: string;
  /** For a failure or a warning: the command or the flag that fixes it. */
  readonly fix?: string;
  /** Further lines: the trust policy's statements, the keys compared. */
  readonly notes?: readonly string[];
}

export interface Report {
  readonly version: 1;
  /** No check failed. */
  readonly ok: boolean;
  readonly summary: Readonly<Record<Status, number>>;
  readonly findings: readonly Finding[];
}

export function report(findings: readonly Finding[]): Report {
  const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const f of findings) summary[f.status]++;
  return { version: 1, ok: summary.fail === 0, summary, findings };
}

/** The report as people read it: groups in chain order, one line per check, fixes indented under. */
export function formatText(r: Report): string {
  const width = Math.max(0, ...r.findings.map((f) => f.id.length));
  const lines: string[] = [];
  for (const g of GROUPS) {
    const fs = r.findings.filter((f) => f.group === g);
    if (fs.length === 0) continue;
    lines.push(GROUP_TITLES[g]);
    for (const f of fs) {
      lines.push(`  ${f.status.padEnd(4)}  ${f.id.padEnd(width)}  ${f.detail}`);
      const indent = " ".repeat(width + 10);
      for (const n of f.notes ?? []) lines.push(`${indent}${n}`);
      if (f.fix !== undefined) lines.push(`${indent}fix: ${f.fix}`);
    }
  }
  const s = r.summary;
  lines.push(
    `result: ${r.ok ? "ok" : "FAILED"}: ${s.pass} passed, ${s.warn} warned, ${s.fail} failed, ${s.skip} skipped`,
  );
  return `${lines.join("\n")}\n`;
}

export function formatJson(r: Report): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The JSON Schema (draft 2020-12) of `irsa doctor --output json`, as the README documents it. */
export const REPORT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "irsa doctor report",
  type: "object",
  required: ["version", "ok", "summary", "findings"],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    ok: { type: "boolean", description: "no check failed (the exit code is 1 otherwise)" },
    summary: {
      type: "object",
      required: [...STATUSES],
      additionalProperties: false,
      properties: Object.fromEntries(STATUSES.map((s) => [s, { type: "integer", minimum: 0 }])),
    },
    findings: {
      type: "array",
      description: "one per check, in chain order",
      items: {
        type: "object",
        required: ["id", "group", "title", "status", "detail"],
        additionalProperties: false,
        properties: {
          id: { type: "string", pattern: "^[a-z0-9-]+$" },
          group: { enum: [...GROUPS] },
          title: { type: "string" },
          status: { enum: [...STATUSES] },
          detail: { type: "string", description: "what was seen; the cause of a failure; why skipped" },
          fix: { type: "string", description: "for fail and warn: the command or flag that fixes it" },
          notes: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
} as const;
