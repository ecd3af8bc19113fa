/** Paths tests use, resolved from the compiled file (dist/test/support/paths.js). */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Test data kept in the repository (test/fixtures/README.md says where each file comes from). */
export const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));
/** Key files `irsa` must refuse or handle: test/fixtures/keys/. */
export const KEY_FIXTURES = fileURLToPath(new URL("../../../test/fixtures/keys/", import.meta.url));
/** kubernetes/kubernetes test vectors: test/fixtures/kubernetes-vectors/. */
export const KUBERNETES_VECTORS = fileURLToPath(
  new URL("../../../test/fixtures/kubernetes-vectors/", import.meta.url),
);
/** aws/amazon-eks-pod-identity-webhook's test pods: test/fixtures/upstream-webhook/. */
export const UPSTREAM_WEBHOOK_FIXTURES = fileURLToPath(
  new URL("../../../test/fixtures/upstream-webhook/", import.meta.url),
);
/** The built CLI entry point (dist/src/cli/main.js), as the local stack finds it. */
export { IRSA_CLI as CLI } from "../../src/stack/peers.js";
