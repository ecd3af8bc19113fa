/** Where a process finds its API server: a kubeconfig file, $KUBECONFIG, ~/.kube/config or in-cluster. */
import { KubeConfig } from "@kubernetes/client-node";
import { IrsaError } from "../../core/errors.js";

/**
 * Loads `kubeconfig` (or the default chain when absent) and, with `kubeApi`, points the current
 * cluster at that URL. Throws IrsaError INPUT_INVALID when nothing usable is found.
 */
export function loadKubeConfig(kubeconfig: string | undefined, kubeApi: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig !== undefined && kubeconfig !== "") kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new IrsaError(
      "INPUT_INVALID",
      `cannot load kubeconfig${kubeconfig ? ` ${kubeconfig}` : ""}: ${(e as Error).message}`,
      "give --kubeconfig, or run in a pod with a service account token",
      { cause: e },
    );
  }
  const current = kc.getCurrentCluster();
  // loadFromDefault's last resort when it finds nothing: an unauthenticated http://localhost:8080.
  const nothingFound = current?.name === "cluster" && current.server === "http://localhost:8080";
  if (nothingFound && (kubeconfig === undefined || kubeconfig === "")) {
    throw new IrsaError(
      "INPUT_INVALID",
      "no kubeconfig found: --kubeconfig not given, $KUBECONFIG and ~/.kube/config absent, and not running in a pod",
      "give --kubeconfig, or run in a pod with a service account token",
    );
  }
  if (current === null) {
    throw new IrsaError(
      "INPUT_INVALID",
      "the kubeconfig has no current cluster",
      "set current-context, or give --kubeconfig",
    );
  }
  if (kubeApi !== undefined && kubeApi !== "") {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => (c.name === current.name ? { ...c, server: kubeApi } : c)),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return kc;
}
