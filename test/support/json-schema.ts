/**
 * The JSON Schema keywords REPORT_SCHEMA uses (type, const, enum, required, properties,
 * additionalProperties, items, minimum, pattern), checked as draft 2020-12 defines them: enough to
 * validate doctor's reports without a validator dependency. Returns every violation with its path.
 */
type Schema = Readonly<Record<string, unknown>>;

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "integer":
      return Number.isInteger(v);
    case "null":
      return v === null;
    default:
      return typeof v === type;
  }
}

export function validate(schema: Schema, v: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const s = schema as {
    type?: string;
    const?: unknown;
    enum?: readonly unknown[];
    required?: readonly string[];
    properties?: Readonly<Record<string, Schema>>;
    additionalProperties?: boolean;
    items?: Schema;
    minimum?: number;
    pattern?: string;
  };
  if (s.type !== undefined && !typeOk(s.type, v)) return [`${path}: not ${s.type}`];
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(v))
    errors.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !s.enum.includes(v))
    errors.push(`${path}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
  if (s.minimum !== undefined && typeof v === "number" && v < s.minimum)
    errors.push(`${path}: below ${s.minimum}`);
  if (s.pattern !== undefined && typeof v === "string" && !new RegExp(s.pattern, "u").test(v))
    errors.push(`${path}: does not match ${s.pattern}`);
  if (typeOk("object", v)) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errors.push(`${path}: ${r} missing`);
    for (const [k, x] of Object.entries(o)) {
      const sub = s.properties?.[k];
      if (sub !== undefined) errors.push(...validate(sub, x, `${path}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${path}: ${k} not allowed`);
    }
  }
  if (Array.isArray(v) && s.items !== undefined)
    v.forEach((x, i) => errors.push(...validate(s.items ?? {}, x, `${path}[${i}]`)));
  return errors;
}
