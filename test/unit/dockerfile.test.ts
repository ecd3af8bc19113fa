/**
 * The Dockerfile's structure, read as Docker's parser reads it (continuation lines joined, comments
 * dropped): a build stage and a runtime stage on Node.js 24, production dependencies only in the
 * runtime, the compiled product copied from the build, a numeric non-root user and `irsa` as the
 * entrypoint; .dockerignore lets only what the build copies into the context. The image itself is
 * built where a Docker daemon runs (`docker build -t irsa-anywhere .`), not in this tier.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../support/paths.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions: `\` continuations joined, comment and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  const joined = lines.join("\n").replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), args: m?.[2] ?? "" };
    });
}

/** The instructions of each stage, by stage name. */
function stages(ins: readonly Instruction[]): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of ins) {
    if (i.op === "FROM") {
      const name = /\bAS\s+(\S+)$/i.exec(i.args)?.[1] ?? String(out.size);
      current = [i];
      out.set(name, current);
    } else current?.push(i);
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
const byStage = stages(dockerfile);
const runtime = [...byStage.values()].at(-1) ?? [];
const of = (stage: readonly Instruction[], op: string) => stage.filter((i) => i.op === op);

describe("Dockerfile", () => {
  it("has a build stage and a runtime stage, both on Node.js 24", () => {
    assert.deepEqual([...byStage.keys()], ["build", "runtime"]);
    for (const from of of(dockerfile, "FROM")) assert.match(from.args, /^node:24[-.]/, from.args);
  });

  it("compiles in the build stage and copies only the compiled product from it", () => {
    const build = byStage.get("build") ?? [];
    assert.ok(of(build, "RUN").some((r) => /\bnpm ci\b/.test(r.args) && !/--omit=dev/.test(r.args)));
    assert.ok(of(build, "RUN").some((r) => /\btsc\b/.test(r.args)));
    const fromBuild = of(runtime, "COPY").filter((c) => c.args.includes("--from="));
    assert.deepEqual(
      fromBuild.map((c) => c.args),
      ["--from=build /src/dist/src ./dist/src"],
    );
    for (const c of of(runtime, "COPY").filter((x) => !x.args.includes("--from="))) {
      const sources = c.args.split(/\s+/).slice(0, -1);
      assert.deepEqual(
        sources,
        ["package.json", "package-lock.json"],
        "from the context: the manifests only",
      );
    }
  });

  it("installs production dependencies only in the runtime stage, from the lock file", () => {
    const installs = of(runtime, "RUN").filter((r) => /\bnpm (ci|install)\b/.test(r.args));
    assert.equal(installs.length, 1);
    assert.match(installs[0]?.args ?? "", /\bnpm ci --omit=dev\b/);
    assert.ok(of(runtime, "ENV").some((e) => /NODE_ENV=production/.test(e.args)));
  });

  it("runs as a numeric non-root user, with irsa as the entrypoint", () => {
    const users = of(runtime, "USER");
    assert.equal(users.length, 1);
    const [uid, gid] = (users[0]?.args ?? "").split(":").map(Number);
    assert.ok(uid !== undefined && Number.isInteger(uid) && uid > 0, "a numeric UID other than 0");
    assert.ok(gid === undefined || (Number.isInteger(gid) && gid > 0));
    assert.equal(runtime.at(-2)?.op, "ENTRYPOINT");
    assert.deepEqual(JSON.parse(runtime.at(-2)?.args ?? ""), ["irsa"]);
    const userAt = runtime.findIndex((i) => i.op === "USER");
    assert.ok(
      runtime.slice(userAt).every((i) => i.op !== "RUN"),
      "nothing runs as root after USER, and nothing needs to",
    );
    assert.ok(
      of(runtime, "RUN").some((r) =>
        /ln -s \/app\/dist\/src\/cli\/main\.js \/usr\/local\/bin\/irsa/.test(r.args),
      ),
    );
  });

  it("sends only what the build copies in the context (.dockerignore)", () => {
    const ignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    assert.deepEqual(ignore, ["*", "!package.json", "!package-lock.json", "!tsconfig.json", "!src/"]);
  });
});
