/** Paths tests use, resolved from the compiled file (dist/test/support/paths.js). */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Read-only fixtures from upstream projects, beside the repository. */
export const SHARED_FIXTURES = fileURLToPath(new URL("../../../../shared/fixtures/", import.meta.url));
/** The project's own test keys. */
export const TEST_FIXTURES = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));
/** The built CLI entry point. */
export const CLI = fileURLToPath(new URL("../../../dist/src/cli/main.js", import.meta.url));
