/**
 * The release people install: `npm pack` of this build holds the compiled product and nothing of
 * the tests, and `npm install -g` of the tarball into a clean prefix gives an `irsa` that runs,
 * lazily loaded commands and their dependencies included. npm takes the dependencies from its
 * cache when it has them (--prefer-offline), else from the registry.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../../src/stack/processes.js";
import { REPO_ROOT } from "../support/paths.js";

const dir = mkdtempSync(join(tmpdir(), "irsa-pack-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** This Node.js first on PATH: npm and the installed `irsa` start through `#!/usr/bin/env node`. */
const env = {
  PATH: [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
  npm_config_update_notifier: "false",
};
const npm = "npm";

describe("npm pack and install -g", () => {
  let tarball = "";

  it("packs the compiled product, the licence, the README and package.json only", async () => {
    const r = await run(npm, ["pack", "--json", "--pack-destination", dir], { cwd: REPO_ROOT, env });
    assert.equal(r.code, 0, r.stderr);
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(info !== undefined);
    tarball = join(dir, info.filename);
    const paths = info.files.map((f) => f.path);
    assert.ok(paths.includes("dist/src/cli/main.js"));
    assert.deepEqual(paths.filter((p) => !p.startsWith("dist/src/")).sort(), [
      "LICENSE",
      "README.md",
      "package.json",
    ]);
  });

  it("installs into a clean prefix, where irsa --help and its commands run", async () => {
    const prefix = join(dir, "prefix");
    const install = await run(
      npm,
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        tarball,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      { env, cwd: dir },
    );
    assert.equal(install.code, 0, install.stderr);
    const irsa = join(prefix, "bin", "irsa");
    assert.ok(existsSync(irsa), `${irsa} is installed`);
    const help = await run(irsa, ["--help"], { env, cwd: dir });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: irsa <command>/m);
    for (const cmd of ["keys generate", "init", "up", "webhook", "issuer sync", "sts serve"]) {
      assert.match(help.stdout, new RegExp(`^  ${cmd} `, "m"), cmd);
    }
    // A command that loads its module and a dependency (yaml) from the installed package.
    const out = join(dir, "init-out");
    const init = await run(
      irsa,
      ["init", "--distro", "kubeadm", "--issuer", "https://oidc.example.com/c1", "--out", out],
      { env, cwd: dir },
    );
    assert.equal(init.code, 0, init.stderr);
    assert.ok(existsSync(join(out, "kubeadm-patch.yaml")));
    const kid = await run(irsa, ["keys", "kid", join(out, "keys/sa.pub")], { env, cwd: dir });
    assert.match(kid.stdout, /^[A-Za-z0-9_-]{43}\n$/);
  });
});
