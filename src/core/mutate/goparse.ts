/**
 * The few Go standard-library parsers whose exact acceptance the webhook's behaviour depends on:
 * strconv.ParseInt (base 10), strconv.ParseBool, path/filepath.Join on a Unix host and the first
 * record of encoding/csv. Each returns undefined where Go returns an error.
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

/**
 * The first record encoding/csv's Reader.Read returns for `text` (comma-separated, `"` quoting,
 * blank lines skipped, no space trimming), or undefined where Read fails (no record, a bare or
 * unterminated quote).
 */
export function goCsvFirstRecord(text: string): string[] | undefined {
  let pos = 0;
  const readLine = (): string | undefined => {
    if (pos >= text.length) return undefined;
    const nl = text.indexOf("\n", pos);
    let line = nl < 0 ? text.slice(pos) : text.slice(pos, nl + 1);
    pos = nl < 0 ? text.length : nl + 1;
    if (line.endsWith("\r\n")) line = `${line.slice(0, -2)}\n`;
    else if (nl < 0 && line.endsWith("\r")) line = line.slice(0, -1);
    return line;
  };
  let line: string | undefined;
  do line = readLine();
  while (line !== undefined && (line === "" || line === "\n"));
  if (line === undefined) return undefined;

  const fields: string[] = [];
  for (;;) {
    if (!line.startsWith('"')) {
      const comma = line.indexOf(",");
      const field = comma >= 0 ? line.slice(0, comma) : line.endsWith("\n") ? line.slice(0, -1) : line;
      if (field.includes('"')) return undefined;
      fields.push(field);
      if (comma < 0) return fields;
      line = line.slice(comma + 1);
      continue;
    }
    line = line.slice(1);
    let field = "";
    let nextField = false;
    while (!nextField) {
      const quote = line.indexOf('"');
      if (quote >= 0) {
        field += line.slice(0, quote);
        line = line.slice(quote + 1);
        if (line.startsWith('"')) {
          field += '"';
          line = line.slice(1);
        } else if (line.startsWith(",")) {
          line = line.slice(1);
          fields.push(field);
          nextField = true;
        } else if (line === "" || line === "\n") {
          fields.push(field);
          return fields;
        } else {
          return undefined;
        }
      } else if (line.length > 0) {
        field += line;
        const next = readLine();
        if (next === undefined) return undefined;
        line = next;
      } else {
        return undefined;
      }
    }
  }
}
