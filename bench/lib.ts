/** Small benchmark helpers: timed loops, percentiles, a side-by-side table. */

export interface Measured {
  readonly name: string;
  readonly nsPerOp: number;
  readonly opsPerSec: number;
  readonly note: string;
}

/** Runs `fn` in batches for about `ms` milliseconds after a warm-up; returns the median batch ns/op. */
export function measure(name: string, fn: () => unknown, ms = 1500, note = ""): Measured {
  const batch = 200;
  for (let i = 0; i < batch * 10; i++) fn();
  const samples: number[] = [];
  const end = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  const nsPerOp = percentile(samples, 50);
  return { name, nsPerOp, opsPerSec: 1e9 / nsPerOp, note };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export const fmt = (n: number, digits = 1): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
