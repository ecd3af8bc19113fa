/** `irsa mutate`, run in-process through runCli with in-memory streams (test/support/cli.ts). */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WEBHOOK_FLAGS } from "../../src/cli/webhook-flags.js";
import { DEFAULT_WEBHOOK_CONFIG } from "../../src/core/mutate/index.js";
import { irsa } from "../support/cli.js";
import { KEY_FIXTURES, UPSTREAM_WEBHOOK_FIXTURES } from "../support/paths.js";

const FIXTURES = UPSTREAM_WEBHOOK_FIXTURES;
const ARN = "arn:aws:iam::111122223333:role/s3-reader";

type Json = Record<string, unknown>;

const dir = mkdtempSync(join(tmpdir(), "irsa-mutate-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
/** A named pipe with no writer: opening it for a blocking read would wait forever. */
function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync("mkfifo", [path]);
  return path;
}

const POD = file(
  "pod.yaml",
  `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: team
spec:
  serviceAccountName: reader
  containers:
  - name: app
    image: amazonlinux
    startupProbe:
      grpc:
        port: 9000
`,
);
const SA = file(
  "sa.yaml",
  `apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
  namespace: team
  annotations:
    eks.amazonaws.com/role-arn: ${ARN}
`,
);
const SA_JSON = file(
  "sa.json",
  JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader" } }),
);

function containerOf(stdout: string): Json {
  const pod = JSON.parse(stdout) as { spec: { containers: Json[] } };
  return pod.spec.containers[0] ?? {};
}

describe("irsa mutate", () => {
  it("prints the mutated pod as JSON", async () => {
    const r = await irsa("mutate", "--pod", POD, "--service-account", SA);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const c = containerOf(r.stdout);
    assert.deepEqual(c.env, [
      { name: "AWS_ROLE_ARN", value: ARN },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ]);
    assert.deepEqual(c.startupProbe, { grpc: { port: 9000 } });
  });

  it("prints the patch with -o patch", async () => {
    const r = await irsa(
      "mutate",
      "--pod",
      POD,
      "--service-account",
      SA,
      "-o",
      "patch",
      "--aws-default-region",
      "eu-west-1",
    );
    assert.equal(r.code, 0, r.stderr);
    const patch = JSON.parse(r.stdout) as { op: string; path: string }[];
    assert.deepEqual(
      patch.map((o) => o.path),
      ["/spec/volumes", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"],
    );
  });

  it("takes the webhook's flags", async () => {
    const r = await irsa(
      "mutate",
      "--pod",
      POD,
      "--service-account",
      SA,
      "--sts-regional-endpoint",
      "--token-expiration",
      "100",
      "--token-audience",
      "aud",
      "--token-mount-path",
      "/t",
      "--annotation-prefix",
      "eks.amazonaws.com",
    );
    assert.equal(r.code, 0, r.stderr);
    const pod = JSON.parse(r.stdout) as { spec: { volumes: Json[] } };
    assert.deepEqual(pod.spec.volumes, [
      {
        name: "aws-iam-token",
        projected: {
          sources: [{ serviceAccountToken: { audience: "aud", expirationSeconds: 600, path: "token" } }],
        },
      },
    ]);
    const c = containerOf(r.stdout);
    assert.deepEqual(
      (c.env as Json[]).map((e) => e.value),
      ["regional", ARN, "/t/token"],
    );
  });

  it("uses container credentials for service accounts listed in --watch-container-credentials-config", async () => {
    const listed = file("cc.json", '{"identities":[{"namespace":"team","serviceAccount":"reader"}]}');
    const r = await irsa(
      "mutate",
      "--pod",
      POD,
      "--service-account",
      SA,
      "--watch-container-credentials-config",
      listed,
    );
    assert.equal(r.code, 0, r.stderr);
    const pod = JSON.parse(r.stdout) as { metadata: { labels: Json } };
    assert.deepEqual(pod.metadata.labels, { "eks.amazonaws.com/pod-identity": "enabled" });
    const names = (containerOf(r.stdout).env as Json[]).map((e) => e.name);
    assert.deepEqual(names, ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]);

    const other = file("cc-other.json", '{"identities":[{"namespace":"default","serviceAccount":"reader"}]}');
    const r2 = await irsa(
      "mutate",
      "--pod",
      POD,
      "--service-account",
      SA,
      "--watch-container-credentials-config",
      other,
    );
    assert.equal((containerOf(r2.stdout).env as Json[])[0]?.name, "AWS_ROLE_ARN");
  });

  it("leaves the pod unchanged, with a note, for a service account without a role", async () => {
    const r = await irsa("mutate", "--pod", POD, "--service-account", SA_JSON, "-o", "patch");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.match(r.stderr, /not mutated: service account team\/reader has no eks\.amazonaws\.com\/role-arn/);
  });

  it("warns about a role ARN that does not look like one", async () => {
    const sa = file(
      "sa-bad-arn.yaml",
      "metadata:\n  name: reader\n  annotations:\n    eks.amazonaws.com/role-arn: my-role\n",
    );
    const r = await irsa("mutate", "--pod", POD, "--service-account", sa);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^warning: role ARN "my-role" is not of the form/);
  });

  it("warns, and prints the pod unchanged, when the pod's own volume has the token volume's name", async () => {
    const pod = file(
      "pod-foreign-volume.yaml",
      "metadata: {name: app}\nspec:\n  serviceAccountName: reader\n  containers: [{name: app}]\n" +
        "  volumes: [{name: aws-iam-token, hostPath: {path: /x}}]\n",
    );
    const r = await irsa("mutate", "--pod", pod, "--service-account", SA, "-o", "patch");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.match(
      r.stderr,
      /^warning: the pod's own volume "aws-iam-token" is not a projected service account token/,
    );
  });

  it("reads an upstream fixture with a Windows node selector", async () => {
    const sa = file(
      "sa-default.yaml",
      `metadata:\n  name: default\n  annotations:\n    eks.amazonaws.com/role-arn: ${ARN}\n`,
    );
    const r = await irsa(
      "mutate",
      "--pod",
      join(FIXTURES, "windowsPodWithoutVolumes.pod.yaml"),
      "--service-account",
      sa,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (containerOf(r.stdout).env as Json[])[1]?.value,
      "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token",
    );
  });

  const failures: [string, () => string[], RegExp][] = [
    [
      "a pod file that is not YAML",
      () => ["--pod", file("broken.yaml", "spec: [\n  containers"), "--service-account", SA],
      /^irsa mutate: cannot read Pod file .*broken\.yaml/,
    ],
    [
      "a pod with duplicate keys",
      () => ["--pod", file("dup.yaml", "spec: {}\nspec: {}\n"), "--service-account", SA],
      /Map keys must be unique/,
    ],
    [
      "an empty pod file",
      () => ["--pod", file("empty.yaml", ""), "--service-account", SA],
      /Pod file .*: the file is empty/,
    ],
    [
      "a pod whose env entry has no name",
      () => [
        "--pod",
        file(
          "noname.json",
          JSON.stringify({
            spec: { serviceAccountName: "reader", containers: [{ name: "a", env: [{ value: "x" }] }] },
          }),
        ),
        "--service-account",
        SA,
      ],
      /invalid pod: spec\.containers\[0\]\.env\[0\]\.name: required string is missing/,
    ],
    [
      "a pod whose containers are not a list",
      () => [
        "--pod",
        file("nolist.yaml", "spec:\n  serviceAccountName: reader\n  containers: app\n"),
        "--service-account",
        SA,
      ],
      /invalid pod: spec\.containers: expected an array, got a string/,
    ],
    [
      "a pod whose alias refers to itself",
      () => ["--pod", file("cycle.yaml", "metadata: &m\n  x: *m\nspec: {}\n"), "--service-account", SA],
      /cannot read Pod file .*cycle\.yaml: an alias refers to itself/,
    ],
    [
      "a pod that is an alias bomb",
      () => [
        "--pod",
        file(
          "bomb.yaml",
          "a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
            "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
        ),
        "--service-account",
        SA,
      ],
      /cannot read Pod file .*bomb\.yaml: Excessive alias count/,
    ],
    [
      "a pod with a !!js/function tag",
      () => ["--pod", file("fn.yaml", 'metadata: !!js/function "function(){}"\n'), "--service-account", SA],
      /cannot read Pod file .*fn\.yaml: Unresolved tag: tag:yaml\.org,2002:js\/function/,
    ],
    [
      "a PEM file given as the pod",
      () => ["--pod", join(KEY_FIXTURES, "certificate.pem"), "--service-account", SA],
      /cannot read Pod file .*certificate\.pem: expected a mapping with kind: Pod, got a string/,
    ],
    [
      "a list given as the pod",
      () => ["--pod", file("list.yaml", "- a\n- b\n"), "--service-account", SA],
      /expected a mapping with kind: Pod, got a list/,
    ],
    [
      "a ServiceAccount given as the pod",
      () => [
        "--pod",
        file("sa-as-pod.yaml", "kind: ServiceAccount\nmetadata: {name: reader}\n"),
        "--service-account",
        SA,
      ],
      /cannot read Pod file .*: expected kind Pod, got "ServiceAccount"/,
    ],
    [
      "a pipe given as the pod",
      () => ["--pod", fifo("pod.fifo"), "--service-account", SA],
      /cannot read pod file .*pod\.fifo: it is a pipe \(FIFO\)/,
    ],
    [
      "a pod file over 3 MiB",
      () => ["--pod", file("huge.yaml", `# ${"x".repeat(3 * 1024 * 1024)}\n`), "--service-account", SA],
      /cannot read pod file .*huge\.yaml: \d+ bytes, over the 3145728-byte limit/,
    ],
    [
      "a missing pod file",
      () => ["--pod", join(dir, "nope.yaml"), "--service-account", SA],
      /cannot read pod file .*: no such file/,
    ],
    [
      "a service account that is not the pod's",
      () => ["--pod", POD, "--service-account", file("sa-other.yaml", "metadata:\n  name: other\n")],
      /runs as service account "reader" but .* is "other"/,
    ],
    [
      "a service account from another namespace",
      () => [
        "--pod",
        POD,
        "--service-account",
        file("sa-ns.yaml", "metadata:\n  name: reader\n  namespace: prod\n"),
      ],
      /Pod is in namespace "team" but .* is in "prod"/,
    ],
    [
      "a service account annotation that is not a string",
      () => [
        "--pod",
        POD,
        "--service-account",
        file("sa-num.yaml", "metadata:\n  annotations:\n    eks.amazonaws.com/audience: 5\n"),
      ],
      /invalid service account: metadata\.annotations\["eks\.amazonaws\.com\/audience"\]/,
    ],
    [
      "a malformed container credentials config",
      () => [
        "--pod",
        POD,
        "--service-account",
        SA,
        "--watch-container-credentials-config",
        file("cc-bad.json", "{"),
      ],
      /invalid container credentials config/,
    ],
  ];
  for (const [name, args, message] of failures) {
    it(`fails with exit 1 on ${name}`, async () => {
      const r = await irsa("mutate", ...args());
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    });
  }

  const usage: [string, string[], RegExp][] = [
    [
      "a non-integer --token-expiration",
      ["--token-expiration", "1h"],
      /--token-expiration must be an integer/,
    ],
    ["an unknown flag", ["--bogus"], /Unknown option '--bogus'/],
    ["an unknown output", ["-o", "yaml"], /--output must be one of pod, patch/],
  ];
  for (const [name, extra, message] of usage) {
    it(`fails with exit 2 on ${name}`, async () => {
      const r = await irsa("mutate", "--pod", POD, "--service-account", SA, ...extra);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it("fails with exit 2 without --pod or --service-account", async () => {
    assert.equal((await irsa("mutate", "--service-account", SA)).code, 2);
    assert.match((await irsa("mutate", "--pod", POD)).stderr, /--service-account is required/);
  });

  it("documents every webhook flag with its default in --help", async () => {
    const r = await irsa("mutate", "--help");
    assert.equal(r.code, 0);
    for (const f of WEBHOOK_FLAGS) {
      assert.match(r.stdout, new RegExp(`--${f.name}\\b`), f.name);
      const v = DEFAULT_WEBHOOK_CONFIG[f.field];
      const shown = v === "" ? "default none" : `default ${String(v)}`;
      assert.ok(r.stdout.includes(shown), `${f.name}: ${shown}`);
    }
    assert.match((await irsa("--help")).stdout, /mutate\s+print a Pod as the webhook mutates it/);
  });
});

describe("webhook flag table", () => {
  it("has upstream's flag names and defaults", () => {
    const upstream: Record<string, string | number | boolean> = {
      "annotation-prefix": "eks.amazonaws.com",
      "token-audience": "sts.amazonaws.com",
      "token-mount-path": "/var/run/secrets/eks.amazonaws.com/serviceaccount",
      "token-expiration": 86400,
      "aws-default-region": "",
      "sts-regional-endpoint": false,
      "watch-container-credentials-config": "",
      "container-credentials-audience": "pods.eks.amazonaws.com",
      "container-credentials-token-mount-path": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
      "container-credentials-token-volume-name": "eks-pod-identity-token",
      "container-credentials-token-path": "eks-pod-identity-token",
      "container-credentials-full-uri": "http://169.254.170.23/v1/credentials",
    };
    const ours = Object.fromEntries(WEBHOOK_FLAGS.map((f) => [f.name, DEFAULT_WEBHOOK_CONFIG[f.field]]));
    assert.deepEqual(ours, upstream);
  });
});
