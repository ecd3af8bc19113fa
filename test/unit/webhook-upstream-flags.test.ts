/**
 * `irsa webhook` takes every flag upstream's webhook lists in its --help (test/fixtures/
 * upstream-webhook/help.txt, the pinned binary's output), in every syntax Go's flag packages take,
 * so that swapping the image under an existing Deployment never fails on "Unknown option".
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { goStyleArgs, logLevelForVerbosity, tlsCiphers, tlsMinVersion } from "../../src/cli/webhook-flags.js";
import { irsa } from "../support/cli.js";
import { UPSTREAM_WEBHOOK_FIXTURES } from "../support/paths.js";

interface UpstreamFlag {
  readonly name: string;
  /** pflag's type word; "" for booleans. */
  readonly type: string;
}

function upstreamFlags(): UpstreamFlag[] {
  const help = readFileSync(join(UPSTREAM_WEBHOOK_FIXTURES, "help.txt"), "utf8");
  const out: UpstreamFlag[] = [];
  for (const line of help.split("\n")) {
    const m = /^\s+(?:-\w, )?--([a-z0-9_-]+)(?: (\S+))?\s{2,}/.exec(line);
    if (m === null) continue;
    const name = m[1] ?? "";
    // pflag shows a boolean's backquoted word from its usage as a type ("role-arn", "false").
    const bools = new Set(["compose-role-arn", "sts-regional-endpoint"]);
    out.push({ name, type: bools.has(name) ? "" : (m[2] ?? "") });
  }
  return out;
}

/** A valid value per flag: what a Deployment would give. */
const VALUES: Readonly<Record<string, string>> = {
  port: "8443",
  "metrics-port": "9999",
  "tls-min-version": "1.2",
  "tls-cipher-suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256",
  "token-expiration": "86400",
  "resync-period": "30s",
  "service-account-lookup-grace-period": "100ms",
  v: "4",
  stderrthreshold: "2",
  alsologtostderrthreshold: "ERROR",
  log_backtrace_at: ":0",
  log_file_max_size: "1800",
  vmodule: "handler=5",
  kubeconfig: "/nonexistent/kubeconfig",
  "aws-default-region": "eu-west-1",
  "watch-container-credentials-config": "",
  "kube-api": "",
};

function valueOf(f: UpstreamFlag): string {
  return VALUES[f.name] ?? "x";
}

/** Every flag once, as `--name=value` (booleans `--name=true`, except --version and --in-cluster). */
function everyFlag(style: "equals" | "separate" | "single-dash"): string[] {
  const args: string[] = [];
  for (const f of upstreamFlags()) {
    if (f.name === "version") continue;
    const dash = style === "single-dash" ? "-" : "--";
    if (f.type === "") {
      args.push(`${dash}${f.name}=${f.name === "in-cluster" ? "false" : "true"}`);
    } else if (style === "separate") {
      args.push(`--${f.name}`, valueOf(f));
    } else {
      args.push(`${dash}${f.name}=${valueOf(f)}`);
    }
  }
  return args;
}

describe("every upstream flag", () => {
  it("the list from upstream's --help is complete (45 flags, klog's included)", () => {
    const names = upstreamFlags().map((f) => f.name);
    assert.equal(names.length, 45);
    for (const n of [
      "v",
      "vmodule",
      "alsologtostderr",
      "stderrthreshold",
      "log_dir",
      "log_file",
      "watch-config-map",
    ]) {
      assert.ok(names.includes(n), n);
    }
  });

  for (const style of ["equals", "separate", "single-dash"] as const) {
    it(`parses them all (${style}) and gets as far as loading the kubeconfig`, async () => {
      const r = await irsa("webhook", ...everyFlag(style));
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /Unknown option|USAGE|must be/);
      assert.match(r.stderr, /kubeconfig/i);
      assert.match(r.stderr, /--log_dir.*no effect/, "a one-line notice for the flags without effect");
    });
  }

  it("--version and -version print the version and exit 0", async () => {
    for (const flag of ["--version", "-version", "--version=true"]) {
      const r = await irsa("webhook", flag);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^irsa-anywhere \d+\.\d+\.\d+/);
    }
  });

  it("refuses bad values of the flags that have an effect, naming them", async () => {
    const cases: [string, RegExp][] = [
      ["--tls-min-version=1.4", /--tls-min-version/],
      ["--tls-cipher-suites=TLS_NOPE", /unsupported cipher suite: TLS_NOPE/],
      ["--resync-period=soon", /--resync-period/],
      // Node fires a timer set past 2^31 - 1 ms at once: a pod would be admitted unmutated at once.
      [
        "--service-account-lookup-grace-period=600h",
        /--service-account-lookup-grace-period must be at most 596h/,
      ],
      ["-v=loud", /-v must be a verbosity level/],
      ["--compose-role-arn-account-id=12", /12-digit/],
    ];
    for (const [arg, message] of cases) {
      const r = await irsa("webhook", arg);
      assert.equal(r.code, 2, arg);
      assert.match(r.stderr, message, arg);
    }
  });

  it("refuses --self-signed-tls settings that cannot name a Secret, a SAN or a resync period", async () => {
    const cases: [string[], RegExp][] = [
      [["--tls-san=127.0.0.1"], /--tls-san only apply with --self-signed-tls/],
      [["--self-signed-tls", "--tls-secret=Webhook_TLS"], /--tls-secret must be a Kubernetes object name/],
      [["--self-signed-tls", "--namespace=a.b"], /--namespace must be a Kubernetes object name/],
      [
        ["--self-signed-tls", "--tls-san=127.0.0.1,not a name"],
        /"not a name" is neither a DNS name nor an IP/,
      ],
      [["--self-signed-tls", "--tls-resync-period=10ms"], /at least 1s/],
      // Past 2^31 - 1 ms Node would re-read the Secret every millisecond.
      [["--self-signed-tls", "--tls-resync-period=600h"], /--tls-resync-period must be at most 596h/],
    ];
    for (const [args, message] of cases) {
      const r = await irsa("webhook", ...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message, args.join(" "));
    }
  });

  it("notes that --tls-secret and --service-name do nothing without --self-signed-tls", async () => {
    const r = await irsa("webhook", "--tls-secret=x", "--kubeconfig=/nonexistent");
    assert.match(r.stderr, /--tls-secret: no effect without --self-signed-tls/);
  });
});

describe("Go flag syntax", () => {
  const options = {
    "tls-min-version": { type: "string" },
    v: { type: "string" },
    version: { type: "boolean" },
  } as const;
  const cases: [string[], string[]][] = [
    [["-tls-min-version=1.3"], ["--tls-min-version=1.3"]],
    [
      ["-tls-min-version", "1.3"],
      ["--tls-min-version", "1.3"],
    ],
    [
      ["-v", "4"],
      ["--v", "4"],
    ],
    [["-v=4"], ["--v=4"]],
    [["-v4"], ["--v=4"]],
    [["--v=4"], ["--v=4"]],
    [["-version"], ["--version"]],
    [["-unknown"], ["-unknown"]],
    [
      ["--", "-version"],
      ["--", "-version"],
    ],
  ];
  for (const [input, want] of cases) {
    it(`${input.join(" ")} → ${want.join(" ")}`, () => {
      assert.deepEqual(goStyleArgs(input, options), want);
    });
  }

  it("TLS versions and cipher suites, upstream's names to Node's", () => {
    assert.equal(tlsMinVersion("1.0"), "TLSv1");
    assert.equal(tlsMinVersion("VersionTLS13"), "TLSv1.3");
    assert.equal(tlsMinVersion("1.4"), undefined);
    assert.equal(
      tlsCiphers("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384"),
      "ECDHE-ECDSA-AES128-GCM-SHA256:AES256-GCM-SHA384",
    );
    assert.equal(
      tlsCiphers("TLS_AES_128_GCM_SHA256"),
      undefined,
      "TLS 1.3 suites are not configurable, as in Go",
    );
    assert.throws(() => tlsCiphers("RC5"), /unsupported cipher suite: RC5/);
  });

  it("klog verbosity to --log-level", () => {
    assert.deepEqual([0, 2, 3, 4, 10].map(logLevelForVerbosity), ["info", "info", "info", "debug", "debug"]);
  });
});
