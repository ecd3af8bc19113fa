/**
 * The layering rule of eslint/boundaries.js, run through ESLint's Linter on code snippets placed at
 * chosen paths: each broken boundary is reported, each allowed import is not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Linter, type Rule } from "eslint";
import tseslint from "typescript-eslint";
import { REPO_ROOT } from "../support/paths.js";

const { importBoundaries } = (await import(join(REPO_ROOT, "eslint/boundaries.js"))) as {
  importBoundaries: Rule.RuleModule;
};

function lint(file: string, code: string): string[] {
  const linter = new Linter({ cwd: REPO_ROOT });
  const messages = linter.verify(
    code,
    [
      {
        files: ["**/*.ts"],
        languageOptions: { parser: tseslint.parser },
        plugins: { irsa: { rules: { "import-boundaries": importBoundaries } } },
        rules: { "irsa/import-boundaries": ["error", { root: REPO_ROOT }] },
      },
    ],
    join(REPO_ROOT, file),
  );
  return messages.map((m) => m.message);
}

describe("import boundaries (eslint/boundaries.js)", () => {
  const refused: [string, string, string, RegExp][] = [
    [
      "the core reading files",
      "src/core/oidc/x.ts",
      'import { readFile } from "node:fs/promises";',
      /node:fs\/promises/,
    ],
    ["the core using fs without the node: prefix", "src/core/x.ts", 'import fs from "fs";', /node:fs/],
    ["the core opening sockets", "src/core/x.ts", 'import { createServer } from "node:https";', /node:https/],
    [
      "the core spawning",
      "src/core/mutate/x.ts",
      'import { spawn } from "node:child_process";',
      /child_process/,
    ],
    [
      "the core importing an adapter",
      "src/core/oidc/x.ts",
      'import { readKeyFile } from "../../adapters/files.js";',
      /src\/adapters/,
    ],
    [
      "the core importing the runtime",
      "src/core/x.ts",
      'import type { Log } from "../runtime/log.js";',
      /src\/runtime/,
    ],
    [
      "the core importing a deployable",
      "src/core/x.ts",
      'export { podAdmitter } from "../webhook/admit.js";',
      /src\/webhook/,
    ],
    [
      "the core loading the Kubernetes client",
      "src/core/x.ts",
      'import { KubeConfig } from "@kubernetes/client-node";',
      /client-node/,
    ],
    [
      "the core loading the AWS SDK lazily",
      "src/core/x.ts",
      'const m = await import("@aws-sdk/client-sts");',
      /@aws-sdk/,
    ],
    [
      "a deployable importing another",
      "src/issuer/x.ts",
      'import { startWebhookServer } from "../webhook/server.js";',
      /src\/webhook/,
    ],
    [
      "a deployable importing the CLI",
      "src/webhook/x.ts",
      'import { runCli } from "../cli/run.js";',
      /src\/cli/,
    ],
    [
      "an adapter importing a deployable",
      "src/adapters/x.ts",
      'import { WebhookMetrics } from "../webhook/metrics.js";',
      /src\/webhook/,
    ],
    [
      "the runtime importing an adapter",
      "src/runtime/x.ts",
      'import { readKeyFile } from "../adapters/files.js";',
      /src\/adapters/,
    ],
    [
      "product code importing test code",
      "src/cli/x.ts",
      'import { CLI } from "../../test/support/paths.js";',
      /test\//,
    ],
    [
      "a script importing the test harness",
      "scripts/x.ts",
      'import { startKube } from "../test/e2e/harness/index.js";',
      /test\//,
    ],
    [
      "a benchmark importing test support",
      "bench/x.ts",
      'import { quiet } from "../test/support/fake-sa-source.js";',
      /test\//,
    ],
  ];
  for (const [name, file, code, what] of refused) {
    it(`refuses ${name}`, () => {
      const messages = lint(file, code);
      assert.equal(messages.length, 1, `messages: ${messages.join(" | ")}`);
      assert.match(messages[0] ?? "", what);
    });
  }

  const allowed: [string, string, string][] = [
    ["the core using node:crypto", "src/core/oidc/x.ts", 'import { createPublicKey } from "node:crypto";'],
    ["the core importing the core", "src/core/mutate/x.ts", 'import { goJson } from "../go/json.js";'],
    [
      "an adapter importing the core",
      "src/adapters/x.ts",
      'import { parseKeysPem } from "../core/oidc/keys.js";',
    ],
    [
      "a deployable importing the runtime",
      "src/webhook/x.ts",
      'import { startHttpsServer } from "../runtime/http.js";',
    ],
    [
      "a deployable importing an adapter",
      "src/webhook/x.ts",
      'import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";',
    ],
    [
      "the CLI starting a deployable",
      "src/cli/commands/x.ts",
      'const m = await import("../../webhook/main.js");',
    ],
    [
      "a test importing anything",
      "test/unit/x.test.ts",
      'import { startWebhookServer } from "../../src/webhook/server.js";',
    ],
  ];
  for (const [name, file, code] of allowed) {
    it(`allows ${name}`, () => {
      assert.deepEqual(lint(file, code), []);
    });
  }
});
