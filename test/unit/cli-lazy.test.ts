/**
 * The CLI loads a command's module only when that command runs, so the small commands and the
 * help never pay for the Kubernetes client, the AWS SDK, the logger or the metrics library.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CLI, KUBERNETES_VECTORS } from "../support/paths.js";

const PROBE = fileURLToPath(new URL("../support/module-probe.js", import.meta.url));
/** Package names, or scopes ending in "/": any package of the AWS SDK. */
const HEAVY = ["@kubernetes/client-node", "@aws-sdk/", "@smithy/", "pino", "prom-client"];
const isHeavy = (pkg: string, h: string): boolean => (h.endsWith("/") ? pkg.startsWith(h) : pkg === h);

function loadedPackages(...argv: string[]): { code: number | null; packages: string[] } {
  const r = spawnSync(process.execPath, ["--import", PROBE, CLI, ...argv], { encoding: "utf8" });
  const packages = [...r.stderr.matchAll(/^irsa-probe: loaded (\S+)$/gm)].map((m) => m[1] ?? "");
  return { code: r.status, packages };
}

describe("irsa loads only what a command needs", () => {
  const pub = join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem");
  const cases: [string, string[]][] = [
    ["irsa --help", ["--help"]],
    ["irsa keys kid", ["keys", "kid", pub]],
    ["irsa jwks", ["jwks", "--key", pub]],
    ["irsa discovery", ["discovery", "--issuer", "https://issuer.example.com", "--key", pub]],
    ["irsa webhook --help", ["webhook", "--help"]],
    ["irsa issuer sync --help", ["issuer", "sync", "--help"]],
    ["irsa issuer print-bucket-policy", ["issuer", "print-bucket-policy", "--bucket", "oidc-bucket"]],
    ["irsa webhook with a usage error", ["webhook", "--port", "x"]],
    ["irsa doctor --help", ["doctor", "--help"]],
  ];
  for (const [name, argv] of cases) {
    it(`${name} loads none of ${HEAVY.join(", ")}`, () => {
      const { code, packages } = loadedPackages(...argv);
      assert.ok(code === 0 || code === 2, `exit ${String(code)}`);
      for (const h of HEAVY) {
        const hit = packages.filter((p) => isHeavy(p, h));
        assert.deepEqual(hit, [], `${name} loaded ${hit.join(", ")}`);
      }
    });
  }

  it("the probe sees the Kubernetes client when the webhook really starts", () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-lazy-"));
    const { code, packages } = loadedPackages(
      "webhook",
      "--kubeconfig",
      join(dir, "missing-kubeconfig"),
      "--port",
      "0",
      "--metrics-port",
      "0",
    );
    assert.equal(code, 1, "a missing kubeconfig is a failure");
    assert.ok(packages.includes("@kubernetes/client-node"), `loaded: ${packages.join(", ")}`);
  });
});
