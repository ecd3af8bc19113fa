/**
 * JSON text as Go's encoding/json writes it, so documents match kube-apiserver byte for byte:
 * like JSON.stringify, but `<`, `>`, `&`, U+2028 and U+2029 are escaped as \u003c, \u003e,
 * \u0026, \u2028 and \u2029 (Go's HTML-safe default). Object key order is the caller's.
 */
const GO_ESCAPES: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}
