/**
 * Loaded with `node --import` before the CLI: prints one line to stderr for each npm package the
 * process resolves (`irsa-probe: loaded <package>`), so a test can see what a command loads.
 */
import { registerHooks } from "node:module";

const seen = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(result.url);
    const pkg = m?.[1];
    if (pkg !== undefined && !seen.has(pkg)) {
      seen.add(pkg);
      process.stderr.write(`irsa-probe: loaded ${pkg}\n`);
    }
    return result;
  },
});
