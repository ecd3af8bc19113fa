/**
 * The pod-identity webhook's mutation flags: names, defaults and meaning exactly as the webhook it
 * replaces takes them, shared by every command that mutates pods (`irsa mutate`, `irsa webhook`).
 */
import {
  DEFAULT_WEBHOOK_CONFIG,
  MAX_TOKEN_EXPIRATION,
  MIN_TOKEN_EXPIRATION,
  webhookConfig,
  type JitterSource,
  type WebhookConfig,
} from "../core/mutate/config.js";
import { parseGoInt64 } from "../core/go/parse.js";
import { randomJitter } from "../adapters/random.js";
import { str, usageError, type Command, type Options, type Values } from "./command.js";

type FlagValues = Omit<WebhookConfig, "jitter">;

export interface WebhookFlag {
  /** The flag without its dashes, as upstream spells it. */
  readonly name: string;
  /** string, int (seconds) or bool (`--name`, or Go-style `--name=true|false`). */
  readonly kind: "string" | "int" | "bool";
  /** The WebhookConfig field it sets. */
  readonly field: keyof FlagValues;
  /** Placeholder in the help text. */
  readonly arg: string;
  readonly help: string;
}

export const WEBHOOK_FLAGS: readonly WebhookFlag[] = [
  {
    name: "annotation-prefix",
    kind: "string",
    field: "annotationPrefix",
    arg: "S",
    help: "annotation domain read on service accounts and pods",
  },
  {
    name: "token-audience",
    kind: "string",
    field: "tokenAudience",
    arg: "S",
    help: "token audience, unless the service account's <prefix>/audience sets one",
  },
  {
    name: "token-mount-path",
    kind: "string",
    field: "tokenMountPath",
    arg: "P",
    help: "where the aws-iam-token volume is mounted",
  },
  {
    name: "token-expiration",
    kind: "int",
    field: "tokenExpiration",
    arg: "N",
    help: `token lifetime in seconds (kept within ${MIN_TOKEN_EXPIRATION} to ${MAX_TOKEN_EXPIRATION}, kube-apiserver's bounds); <prefix>/token-expiration on the service account or pod overrides it`,
  },
  {
    name: "aws-default-region",
    kind: "string",
    field: "awsDefaultRegion",
    arg: "R",
    help: "if set, inject AWS_DEFAULT_REGION and AWS_REGION with this value",
  },
  {
    name: "sts-regional-endpoint",
    kind: "bool",
    field: "stsRegionalEndpoint",
    arg: "",
    help: "inject AWS_STS_REGIONAL_ENDPOINTS=regional; <prefix>/sts-regional-endpoints on the service account overrides it",
  },
  {
    name: "watch-container-credentials-config",
    kind: "string",
    field: "watchContainerCredentialsConfig",
    arg: "F",
    help: 'JSON file listing the service accounts that use container credentials: {"identities":[{"namespace":..,"serviceAccount":..}]}',
  },
  {
    name: "container-credentials-audience",
    kind: "string",
    field: "containerCredentialsAudience",
    arg: "S",
    help: "token audience in container-credentials mode",
  },
  {
    name: "container-credentials-token-mount-path",
    kind: "string",
    field: "containerCredentialsTokenMountPath",
    arg: "P",
    help: "where the token volume is mounted in container-credentials mode",
  },
  {
    name: "container-credentials-token-volume-name",
    kind: "string",
    field: "containerCredentialsTokenVolumeName",
    arg: "S",
    help: "name of the projected token volume in container-credentials mode",
  },
  {
    name: "container-credentials-token-path",
    kind: "string",
    field: "containerCredentialsTokenPath",
    arg: "S",
    help: "file name of the token in its volume in container-credentials mode",
  },
  {
    name: "container-credentials-full-uri",
    kind: "string",
    field: "containerCredentialsFullUri",
    arg: "U",
    help: "value of AWS_CONTAINER_CREDENTIALS_FULL_URI in container-credentials mode",
  },
];

/** The flags as node:util parseArgs options, to spread into a Command's options. */
export const WEBHOOK_FLAG_OPTIONS: Options = Object.fromEntries(
  WEBHOOK_FLAGS.map((f) => [
    f.name,
    { type: f.kind === "bool" ? ("boolean" as const) : ("string" as const) },
  ]),
);

function defaultText(f: WebhookFlag): string {
  const v = DEFAULT_WEBHOOK_CONFIG[f.field];
  if (v === "") return "default none";
  return `default ${String(v)}`;
}

/** Splits text into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * Help lines for every flag: name, meaning (wrapped to 100 columns) and default, indented as in
 * the other commands' help.
 */
export function webhookFlagsHelp(): string {
  const heads = WEBHOOK_FLAGS.map((f) => `  --${f.name}${f.arg === "" ? "" : ` ${f.arg}`}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  const indent = " ".repeat(width);
  return WEBHOOK_FLAGS.map((f, i) => {
    const lines = [...wrap(f.help, 100 - width), defaultText(f)];
    return lines.map((l, j) => `${j === 0 ? (heads[i] ?? "").padEnd(width) : indent}${l}\n`).join("");
  }).join("");
}

/** Reads the flags from parsed values into a config; defaults for those not given. */
export function webhookConfigFromFlags(
  values: Values,
  cmd: Command,
  jitter: JitterSource = randomJitter,
): WebhookConfig {
  const overrides: Record<string, string | number | boolean> = {};
  for (const f of WEBHOOK_FLAGS) {
    if (f.kind === "bool") {
      if (values[f.name] === true) overrides[f.field] = true;
      continue;
    }
    const v = str(values, f.name);
    if (v === undefined) continue;
    if (f.kind === "int") {
      const n = parseGoInt64(v);
      if (n === undefined)
        throw usageError(`--${f.name} must be an integer number of seconds, got "${v}"`, cmd);
      overrides[f.field] = n;
    } else {
      overrides[f.field] = v;
    }
  }
  return webhookConfig({ ...(overrides as Partial<FlagValues>), jitter });
}
