/**
 * `irsa issuer sync | serve | print-bucket-policy`. Thin: parses and checks the flags, then hands
 * them to the issuer deployable's wiring (src/issuer/main.ts), loaded only when it runs.
 */
import { bucketPolicy, normalizePrefix } from "../../core/issuer/bucket-policy.js";
import { parseTarget } from "../../core/issuer/targets.js";
import { DEFAULT_RETAIN_MS } from "../../core/issuer/state.js";
import { checkIssuerUrl } from "../../core/oidc/url.js";
import { LOG_LEVELS } from "../../runtime/log.js";
import { join } from "node:path";
import {
  durationOption,
  oneOf,
  portOption,
  requireStr,
  str,
  strs,
  usageError,
  type Command,
  type CommandBody,
  type Options,
  type Values,
} from "../command.js";
import type { ServeOptions, SourceSpec, SyncSettings } from "../../issuer/main.js";

const EXAMPLES = "30s, 5m or 25h";

const SOURCE_OPTIONS = {
  from: { type: "string" },
  kubeconfig: { type: "string" },
  "kube-api": { type: "string" },
  key: { type: "string", multiple: true },
  issuer: { type: "string" },
  "public-issuer": { type: "string" },
  retain: { type: "string" },
  interval: { type: "string" },
  "metrics-port": { type: "string" },
  "bind-address": { type: "string" },
  "log-level": { type: "string" },
} as const satisfies Options;

const SOURCE_HELP = `Source (--from):
  --from kube|keys          kube: the API server's /.well-known/openid-configuration and
                            /openid/v1/jwks; keys: --key files with --issuer   default kube
  --kubeconfig F            kubeconfig; else $KUBECONFIG, ~/.kube/config or in-cluster
  --kube-api URL            API server URL, overriding the kubeconfig's
  --key FILE                PEM key file (private or public), repeatable (--from keys)
  --issuer URL              the issuer (--from keys): kube-apiserver's --service-account-issuer
  --public-issuer URL       refuse to publish unless the cluster's issuer is exactly this URL
  --retain D                keep a key published this long after it leaves the source  default 25h
  --interval D              how often to read the source (--watch, serve)               default 60s
  --metrics-port N          HTTP port for /metrics /healthz /livez /readyz               default 9090
  --bind-address A          address the servers listen on                               default all
  --log-level L             debug, info, warn or error                                  default info
`;

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_METRICS_PORT = 9090;

function settings(values: Values, cmd: Command): SyncSettings {
  const keyFiles = strs(values, "key");
  const from = oneOf(values, "from", ["kube", "keys"] as const, keyFiles.length > 0 ? "keys" : "kube", cmd);
  let source: SourceSpec;
  if (from === "keys") {
    if (keyFiles.length === 0) throw usageError("--from keys needs at least one --key FILE", cmd);
    const issuer = requireStr(values, "issuer", cmd);
    checkIssuerUrl(issuer);
    source = { kind: "keys", keyFiles, issuer };
  } else {
    if (keyFiles.length > 0 || str(values, "issuer") !== undefined) {
      throw usageError(
        "--key and --issuer go with --from keys; --from kube reads both from the API server",
        cmd,
      );
    }
    source = { kind: "kube", kubeconfig: str(values, "kubeconfig"), kubeApi: str(values, "kube-api") };
  }
  const publicIssuer = str(values, "public-issuer");
  if (publicIssuer !== undefined) checkIssuerUrl(publicIssuer, "--public-issuer");
  return {
    source,
    publicIssuer,
    retainMs: durationOption(values, "retain", DEFAULT_RETAIN_MS, cmd, { examples: EXAMPLES }),
    intervalMs: durationOption(values, "interval", DEFAULT_INTERVAL_MS, cmd, {
      min: 1,
      timer: true,
      examples: EXAMPLES,
    }),
    host: str(values, "bind-address") || undefined,
    metricsPort: portOption(values, "metrics-port", DEFAULT_METRICS_PORT, cmd),
    logLevel: oneOf(values, "log-level", LOG_LEVELS, "info", cmd),
  };
}

export const issuerSync: CommandBody = {
  help: `Usage: irsa issuer sync [--from kube|keys ...] --to TARGET [--to TARGET ...] [--watch]

Publishes the discovery document and the JWKS where AWS STS can fetch them:
  s3://BUCKET[/PREFIX]   objects PREFIX/.well-known/openid-configuration and PREFIX/openid/v1/jwks
                         (Content-Type application/json, Cache-Control public, max-age=60, no ACL;
                         make them public with the policy of irsa issuer print-bucket-policy)
  dir://PATH             files under PATH, each written atomically (temporary file, fsync, rename)

The JWKS holds the source's keys plus every key that left the source less than --retain ago, so
tokens signed before a key rotation keep verifying until they expire. That memory is the object
irsa-issuer-state.json kept beside the documents in each target, so every replica and run agrees.
The JWKS is written before the discovery document, each write is read back and checked, and
nothing is written when nothing changed. jwks_uri is rewritten to <issuer>/openid/v1/jwks.

Once (default): prints one line per target and exits 0, or 1 if any target failed.
--watch: syncs every --interval until SIGTERM (backoff after failures), with /metrics, /healthz,
/livez and /readyz (200 once every target has been synced) on --metrics-port. Safe to run twice.

Target options:
  --to TARGET               s3://BUCKET[/PREFIX] or dir://PATH, repeatable    required
  --endpoint-url URL        an S3-compatible endpoint (MinIO, Ceph...); implies path-style
  --region R                the bucket's region                 default AWS_REGION or the profile's
  --path-style              address buckets in the path, not the host name
  --watch                   keep syncing (a controller)

${SOURCE_HELP}`,
  options: {
    ...SOURCE_OPTIONS,
    to: { type: "string", multiple: true },
    "endpoint-url": { type: "string" },
    region: { type: "string" },
    "path-style": { type: "boolean" },
    watch: { type: "boolean" },
  },
  async run(values, _pos, io) {
    const s = settings(values, this);
    const to = strs(values, "to");
    if (to.length === 0) throw usageError("at least one --to TARGET is required", this);
    const targets = to.map((t) => parseTarget(t));
    const { runSync } = await import("../../issuer/main.js");
    return runSync(
      {
        ...s,
        targets,
        watch: values["watch"] === true,
        s3: {
          endpointUrl: str(values, "endpoint-url") || undefined,
          region: str(values, "region") || undefined,
          forcePathStyle: values["path-style"] === true ? true : undefined,
        },
      },
      io,
    );
  },
};

/** Let's Encrypt's production directory (the CLI does not load acme-client just to print help). */
const LETS_ENCRYPT_DIRECTORY_URL = "https://acme-v02.api.letsencrypt.org/directory";

const ACME_FLAGS = ["acme-email", "acme-directory", "acme-ca-file", "acme-http-port", "acme-dir"] as const;

/** --tls-cert and --tls-key, or the --acme-* flags: exactly one of the two. */
function serveTls(
  values: Values,
  dataDir: string,
  host: string | undefined,
  cmd: Command,
): ServeOptions["tls"] {
  const domain = str(values, "acme-domain");
  if (domain === undefined) {
    const stray = ACME_FLAGS.find((f) => str(values, f) !== undefined);
    if (stray !== undefined) throw usageError(`--${stray} goes with --acme-domain`, cmd);
    return { certFile: requireStr(values, "tls-cert", cmd), keyFile: requireStr(values, "tls-key", cmd) };
  }
  if (str(values, "tls-cert") !== undefined || str(values, "tls-key") !== undefined) {
    throw usageError("give either --tls-cert and --tls-key, or --acme-domain: not both", cmd);
  }
  if (
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(domain)
  ) {
    throw usageError(`--acme-domain must be a DNS name such as oidc.example.com, got "${domain}"`, cmd);
  }
  const email = requireStr(values, "acme-email", cmd);
  if (!/^[^@\s]+@[^@\s]+$/.test(email))
    throw usageError(`--acme-email must be an email address, got "${email}"`, cmd);
  const directory = str(values, "acme-directory");
  if (directory !== undefined && !/^https:\/\//.test(directory)) {
    throw usageError(`--acme-directory must be an https:// URL, got "${directory}"`, cmd);
  }
  return {
    acme: {
      domain,
      email,
      directoryUrl: directory ?? LETS_ENCRYPT_DIRECTORY_URL,
      caFile: str(values, "acme-ca-file"),
      httpPort: portOption(values, "acme-http-port", 80, cmd),
      host,
      dir: str(values, "acme-dir") ?? join(dataDir, "acme"),
    },
  };
}

export const issuerServe: CommandBody = {
  help: `Usage: irsa issuer serve (--tls-cert F --tls-key F | --acme-domain D --acme-email E)
                         [--from kube|keys ...] [options]

Serves exactly the two documents over HTTPS at the issuer's path: GET and HEAD, Content-Type
application/json, a strong ETag (If-None-Match gives 304), Cache-Control public, max-age=60; 404
for anything else. Every --interval it syncs the source into --data-dir (the same documents,
rotation memory and checks as irsa issuer sync), so a restart serves at once even if the source is
down. The TLS certificate and key are re-read when they change on disk. Plain HTTP on
--metrics-port: /metrics, /healthz, /livez, /readyz (200 once documents are published).

Options:
  --port N                  HTTPS port (0: any free port)                               default 8443
  --tls-cert F              serving certificate (PEM, with its chain)
  --tls-key F               its private key (PEM)
  --data-dir D              where the documents and rotation memory are kept  default /var/lib/irsa-issuer

Its own certificate from an ACME CA (instead of --tls-cert and --tls-key; agrees to the CA's terms
of service). HTTP-01: the CA fetches http://D/.well-known/acme-challenge/... on port 80, so D must
resolve to this server and port 80 reach it. Renewed at two thirds of its lifetime; an expired
certificate is never presented (connections are closed before the handshake).
  --acme-domain D           the issuer's host name (the certificate's only name)
  --acme-email E            contact address for the CA's expiry notices
  --acme-directory URL      the CA's directory          default Let's Encrypt production
  --acme-ca-file F          PEM CAs to trust for the directory's HTTPS (a private CA)
  --acme-http-port N        where the HTTP-01 responder listens                          default 80
  --acme-dir D              account key, certificate and key (0600)         default DATA-DIR/acme

${SOURCE_HELP}`,
  options: {
    ...SOURCE_OPTIONS,
    port: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "data-dir": { type: "string" },
    "acme-domain": { type: "string" },
    "acme-email": { type: "string" },
    "acme-directory": { type: "string" },
    "acme-ca-file": { type: "string" },
    "acme-http-port": { type: "string" },
    "acme-dir": { type: "string" },
  },
  async run(values) {
    const s = settings(values, this);
    const dataDir = str(values, "data-dir") ?? "/var/lib/irsa-issuer";
    const { runServe } = await import("../../issuer/main.js");
    return runServe({
      ...s,
      port: portOption(values, "port", 8443, this),
      tls: serveTls(values, dataDir, s.host, this),
      dataDir,
      gracePeriodMs: 5000,
    });
  },
};

export const issuerPrintBucketPolicy: CommandBody = {
  help: `Usage: irsa issuer print-bucket-policy --bucket B [--prefix P] [--partition aws]

Prints the S3 bucket policy that lets anyone (AWS STS) read exactly the two issuer documents,
PREFIX/.well-known/openid-configuration and PREFIX/openid/v1/jwks, and nothing else. A policy, not
an ACL: keep Block Public Access's "block public ACLs" and "ignore public ACLs" on; turn off only
"block public bucket policies" and "restrict public buckets" for this bucket. Apply it with:
  aws s3api put-bucket-policy --bucket B --policy file://policy.json

Options:
  --bucket B       the bucket                                      required
  --prefix P       the prefix given to sync (s3://B/P)             default none
  --partition P    aws, aws-cn or aws-us-gov                       default aws
`,
  options: {
    bucket: { type: "string" },
    prefix: { type: "string" },
    partition: { type: "string" },
  },
  run(values, _pos, io) {
    const bucket = requireStr(values, "bucket", this);
    const partition = oneOf(values, "partition", ["aws", "aws-cn", "aws-us-gov"] as const, "aws", this);
    io.out(bucketPolicy(bucket, normalizePrefix(str(values, "prefix")), partition));
    return Promise.resolve(0);
  },
};
