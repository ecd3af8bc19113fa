/**
 * How many cases a fuzz or property test runs: `n` times IRSA_FUZZ_SCALE (default 1, at least one
 * case). Mutation testing runs each test file once per mutant, so `scripts/test-mutation.sh` scales
 * the large fuzz runs down; the test tiers run them in full.
 */
export function fuzzRuns(n: number): number {
  const raw = process.env.IRSA_FUZZ_SCALE;
  const scale = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new Error(`IRSA_FUZZ_SCALE=${raw}: expected a number above 0 (1 runs every case)`);
  }
  return Math.max(1, Math.round(n * scale));
}
