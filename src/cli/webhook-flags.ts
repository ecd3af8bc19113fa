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

/**
 * Upstream flags that have no effect here, accepted so that an existing Deployment's arguments
 * still start `irsa webhook`: klog's logging flags (logs are JSON on stdout; `-v` maps to
 * --log-level) and the in-cluster certificate mode's names.
 */
export const NO_EFFECT_FLAGS: Readonly<Record<string, "string" | "boolean">> = {
  add_dir_header: "boolean",
  alsologtostderr: "boolean",
  alsologtostderrthreshold: "string",
  legacy_stderr_threshold_behavior: "boolean",
  log_backtrace_at: "string",
  log_dir: "string",
  log_file: "string",
  log_file_max_size: "string",
  logtostderr: "boolean",
  one_output: "boolean",
  skip_headers: "boolean",
  skip_log_headers: "boolean",
  stderrthreshold: "string",
  vmodule: "string",
};

/**
 * Go's flag syntax as upstream's pflag and klog take it, rewritten for node:util parseArgs:
 * `-name` is `--name` (any known long flag with one dash) and `-v N`, `-vN`, `-v=N` are `--v=N`.
 */
export function goStyleArgs(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (const [i, a] of argv.entries()) {
    if (a === "--") return [...out, ...argv.slice(i)];
    const short = /^-v(?:=?([0-9]+))?$/.exec(a);
    if (short !== null) {
      out.push(short[1] === undefined ? "--v" : `--v=${short[1]}`);
      continue;
    }
    const m = /^-([^-=][^=]+)(=.*)?$/s.exec(a);
    if (m !== null && Object.hasOwn(options, m[1] ?? "")) {
      out.push(`--${m[1] ?? ""}${m[2] ?? ""}`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/** --tls-min-version as upstream takes it ("1.2" or "VersionTLS12") to Node's name. */
export function tlsMinVersion(value: string): "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3" | undefined {
  const table = { "1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3" } as const;
  const v = /^VersionTLS1([0-3])$/.exec(value);
  const key = v === null ? value : `1.${v[1] ?? ""}`;
  return Object.hasOwn(table, key) ? table[key as keyof typeof table] : undefined;
}

/** Go's cipher suite names (tls.CipherSuites and InsecureCipherSuites) to OpenSSL's, for TLS 1.2 and below. */
const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: "ECDHE-ECDSA-RC4-SHA",
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: "ECDHE-RSA-RC4-SHA",
  TLS_RSA_WITH_RC4_128_SHA: "RC4-SHA",
};
/** TLS 1.3's suites: Go accepts the names but they are not configurable (nor here). */
const TLS13_SUITES = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
]);

/**
 * --tls-cipher-suites (Go names, comma-separated) as an OpenSSL cipher list; undefined when it
 * names none configurable (the defaults stay). Throws with the unknown name.
 */
export function tlsCiphers(value: string): string | undefined {
  const out: string[] = [];
  for (const raw of value.split(",")) {
    const name = raw.trim();
    if (name === "" || TLS13_SUITES.has(name)) continue;
    const openssl = GO_CIPHER_SUITES[name];
    if (openssl === undefined) throw new Error(`unsupported cipher suite: ${name}`);
    out.push(openssl);
  }
  return out.length === 0 ? undefined : out.join(":");
}

/** klog's -v level as a --log-level: 4 and above is where upstream logs per-pod detail. */
export function logLevelForVerbosity(v: number): "debug" | "info" {
  return v >= 4 ? "debug" : "info";
}
