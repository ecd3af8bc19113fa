// The project's layering, enforced on every import (static, re-export and dynamic with a literal):
//   src/core      pure: no I/O modules of Node, no I/O packages, nothing outside src/core
//   src/runtime   shared server plumbing: may use the core, nothing else of ours
//   src/adapters  the edges (files, Kubernetes, AWS): may use the core and the runtime
//   deployables   src/webhook, src/issuer, src/sts, src/credentials, src/doctor, src/stack: never each other
//   src/cli       the entry point: may call any deployable's wiring
//   nothing under src/, scripts/ or bench/ imports from test/
import { builtinModules } from "node:module";
import { dirname, relative, resolve, sep } from "node:path";

const DEPLOYABLES = ["webhook", "issuer", "sts", "credentials", "doctor", "stack"];
const IO_BUILTINS = [
  "fs",
  "fs/promises",
  "net",
  "http",
  "https",
  "http2",
  "tls",
  "child_process",
  "dgram",
  "dns",
  "worker_threads",
  "cluster",
  "readline",
];
const IO_PACKAGES = [
  /^@kubernetes\/client-node(\/|$)/,
  /^@aws-sdk\//,
  /^@smithy\//,
  /^pino(\/|$)/,
  /^prom-client(\/|$)/,
  /^acme-client(\/|$)/,
];

/** What code in `area` must not import: folders of the repository, and for the core, modules. */
function rulesFor(area) {
  const test = ["test"];
  if (area === "src/core") {
    return {
      dirs: ["src/runtime", "src/adapters", "src/cli", ...DEPLOYABLES.map((d) => `src/${d}`), ...test],
      builtins: IO_BUILTINS,
      packages: IO_PACKAGES,
      why: "the core is pure: pass values in from an adapter or the runtime",
    };
  }
  if (area === "src/runtime") {
    return {
      dirs: ["src/adapters", "src/cli", ...DEPLOYABLES.map((d) => `src/${d}`), ...test],
      why: "the runtime is shared by every deployable and knows none of them",
    };
  }
  if (area === "src/adapters") {
    return {
      dirs: ["src/cli", ...DEPLOYABLES.map((d) => `src/${d}`), ...test],
      why: "adapters serve every deployable and know none of them",
    };
  }
  const d = DEPLOYABLES.find((x) => area === `src/${x}`);
  if (d !== undefined) {
    return {
      dirs: ["src/cli", ...DEPLOYABLES.filter((x) => x !== d).map((x) => `src/${x}`), ...test],
      why: "deployables never import each other; share through the core, the runtime or an adapter",
    };
  }
  if (area.startsWith("src/") || area === "src" || area === "scripts" || area === "bench") {
    return {
      dirs: test,
      why: "product code, scripts and benchmarks never depend on test code: move what they need into src/",
    };
  }
  return undefined;
}

/** "src/core" for src/core/oidc/keys.ts, "src/cli" for src/cli/run.ts, "scripts", "bench". */
function areaOf(rel) {
  const parts = rel.split(sep);
  if (parts[0] === "src" && parts.length > 2) return `src/${parts[1]}`;
  return parts.length > 1 ? parts[0] : "";
}

const within = (rel, dir) => rel === dir || rel.startsWith(`${dir}/`);

export const importBoundaries = {
  meta: {
    type: "problem",
    docs: { description: "keep the core pure, deployables apart and test code out of the product" },
    schema: [{ type: "object", properties: { root: { type: "string" } }, additionalProperties: false }],
    messages: { forbidden: "{{area}} must not import {{what}}: {{why}}" },
  },
  create(context) {
    const root = context.options[0]?.root ?? context.cwd;
    const file = context.filename;
    const rel = relative(root, file).split(sep).join("/");
    const rules = rulesFor(areaOf(rel.split("/").join(sep)));
    if (rules === undefined) return {};
    const area = areaOf(rel.split("/").join(sep));
    const check = (node, spec) => {
      if (typeof spec !== "string") return;
      let what;
      if (spec.startsWith(".")) {
        const target = relative(root, resolve(dirname(file), spec))
          .split(sep)
          .join("/");
        const dir = rules.dirs.find((d) => within(target, d));
        if (dir !== undefined) what = `${dir}/ (${spec})`;
      } else {
        const bare = spec.startsWith("node:") ? spec.slice(5) : spec;
        if (
          (rules.builtins ?? []).includes(bare) &&
          (spec.startsWith("node:") || builtinModules.includes(bare))
        )
          what = `node:${bare}`;
        else if ((rules.packages ?? []).some((p) => p.test(spec))) what = spec;
      }
      if (what !== undefined)
        context.report({ node, messageId: "forbidden", data: { area, what, why: rules.why } });
    };
    const fromSource = (node) => check(node.source ?? node, node.source?.value);
    return {
      ImportDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ExportNamedDeclaration: (node) => {
        if (node.source) fromSource(node);
      },
      ImportExpression: (node) => {
        if (node.source.type === "Literal") check(node.source, node.source.value);
      },
    };
  },
};

export default { rules: { "import-boundaries": importBoundaries } };
