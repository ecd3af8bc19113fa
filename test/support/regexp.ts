/** `s` as a regular expression that matches exactly it: for expected text built from paths and ARNs. */
export function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
