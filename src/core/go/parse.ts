/**
 * The few Go standard-library parsers whose exact acceptance the webhook's behaviour depends on:
 * strconv.ParseInt (base 10), strconv.ParseBool, time.ParseDuration and path/filepath.Join on a
 * Unix host. Each returns undefined where Go returns an error.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits only, within int64. */
export function parseGoInt64(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : Number(n);
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (GO_TRUE.has(s)) return true;
  if (GO_FALSE.has(s)) return false;
  return undefined;
}

/** path.Clean: lexical processing of `.`, `..` and repeated slashes. */
export function goCleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const joined = (rooted ? "/" : "") + out.join("/");
  return joined === "" ? "." : joined;
}

/** filepath.Join on Unix: the non-empty elements joined by `/`, cleaned; "" when all are empty. */
export function goJoinPath(...elems: string[]): string {
  const parts = elems.filter((e) => e !== "");
  return parts.length === 0 ? "" : goCleanPath(parts.join("/"));
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Go's time.ParseDuration ("100ms", "1.5s", "1m30s", "0"), in milliseconds; undefined where Go
 * returns an error. kube-apiserver's `?timeout=` query and upstream's duration flags use it.
 */
export function parseGoDuration(s: string): number | undefined {
  const m = /^([+-]?)(.*)$/s.exec(s);
  if (m === null) return undefined;
  const [, sign = "", body = ""] = m;
  if (body === "0") return 0;
  if (body === "") return undefined;
  const re = /([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const part = re.exec(body);
    if (part === null) return undefined;
    const [, num = "", unit = ""] = part;
    const scale = UNIT_MS[unit];
    if (num === "" || num === "." || scale === undefined) return undefined;
    total += Number(num) * scale;
    pos = re.lastIndex;
  }
  return sign === "-" ? -total : total;
}
