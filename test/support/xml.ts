/**
 * A strict well-formedness check for the STS's XML answers (no XML parser is a dependency): one
 * root, balanced tags, attributes quoted, only the five predefined entities or character
 * references, no raw "<" or "&" in text, no characters XML 1.0 forbids. Returns the problem or undefined.
 */
export function xmlProblem(xml: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(xml)) return "a character XML 1.0 forbids";
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(xml))
    return "a lone surrogate";
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<&]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < xml.length) {
    token.lastIndex = pos;
    m = token.exec(xml);
    if (m === null || m[6] !== undefined)
      return `bad markup at ${pos}: ${JSON.stringify(xml.slice(pos, pos + 40))}`;
    pos = token.lastIndex;
    if (m[5] !== undefined) {
      const text = m[5];
      if (stack.length === 0 && text.trim() !== "") return "text outside the root element";
      const bad = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.exec(text);
      if (bad) return `a bare & at ${pos}`;
      continue;
    }
    const [, close, name = "", , selfClose] = m;
    if (close === "/") {
      if (stack.pop() !== name) return `</${name}> does not close the open element`;
    } else if (selfClose === "/") {
      if (stack.length === 0) roots++;
    } else {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  if (stack.length > 0) return `<${stack.at(-1) ?? ""}> is not closed`;
  if (roots !== 1) return `${roots} root elements`;
  return undefined;
}

/** The text of the first <name> element, unescaped. */
export function xmlValue(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (m === null) return undefined;
  return (m[1] ?? "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
