/**
 * `irsa sts check`: the STS's checks offline, for one token and role, every check printed with
 * pass, fail or skip; the trust policy with every statement and why it applies or not.
 */
import { checkWebIdentity, type Verdict } from "../core/sts/check.js";
import { readTextFile } from "../adapters/files.js";
import { IssuerKeyResolver } from "../adapters/oidc/keys.js";
import { silentLog } from "../runtime/log.js";
import { loadStsConfig } from "../adapters/sts/config.js";

export interface CheckCommandOptions {
  readonly configFile: string;
  readonly tokenFile: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationSeconds: number | undefined;
  /** Seconds since the epoch; default now. */
  readonly now: number | undefined;
  readonly clockSkewSeconds: number;
}

export interface CheckReport {
  readonly verdict: Verdict;
  readonly notes: readonly string[];
}

export async function runStsCheck(o: CheckCommandOptions): Promise<CheckReport> {
  const loaded = await loadStsConfig(o.configFile);
  const raw = await readTextFile(o.tokenFile, "token file");
  const token = raw.trim();
  const notes: string[] = [];
  if (token !== raw)
    notes.push("white space around the token in the file was ignored (SDKs send the file as it is)");
  const resolver = new IssuerKeyResolver({ staticKeys: loaded.staticKeys, log: silentLog });
  const verdict = await checkWebIdentity(
    { token, roleArn: o.roleArn, roleSessionName: o.sessionName, durationSeconds: o.durationSeconds },
    loaded.config,
    resolver,
    { now: o.now ?? Date.now() / 1000, clockSkewSeconds: o.clockSkewSeconds },
  );
  return { verdict, notes };
}

export function formatCheckText(r: CheckReport, roleArn: string): string {
  const v = r.verdict;
  const width = Math.max(...v.checks.map((c) => c.name.length));
  const lines = [`role ${roleArn}`];
  for (const c of v.checks) lines.push(`  ${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.reason}`);
  if (v.decision !== undefined) {
    lines.push("trust policy:");
    for (const s of v.decision.statements) {
      lines.push(`  ${s.name} (${s.effect}): ${s.applies ? "applies" : "does not apply"}: ${s.reason}`);
    }
    lines.push(
      `  decision: ${v.decision.decision}${v.decision.deciding ? `, decided by ${v.decision.deciding.name}` : ""}`,
    );
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  const e = v.failed?.error;
  lines.push(
    v.ok
      ? "result: allowed (STS would issue credentials)"
      : `result: refused; STS would answer ${e?.code ?? "?"} (HTTP ${e?.status ?? "?"}): ${e?.message ?? ""}`,
  );
  return `${lines.join("\n")}\n`;
}

export function formatCheckJson(r: CheckReport, roleArn: string): string {
  const v = r.verdict;
  return `${JSON.stringify(
    {
      roleArn,
      allowed: v.ok,
      checks: v.checks,
      error: v.failed?.error,
      trustPolicy:
        v.decision === undefined
          ? undefined
          : {
              decision: v.decision.decision,
              deciding: v.decision.deciding?.name,
              reason: v.decision.reason,
              statements: v.decision.statements,
            },
      notes: r.notes,
    },
    null,
    2,
  )}\n`;
}
