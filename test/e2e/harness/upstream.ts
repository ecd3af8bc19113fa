/**
 * Upstream's webhook (aws/amazon-eks-pod-identity-webhook, built by
 * test/peers/build-upstream-webhook.sh) as a child process in its out-of-cluster mode, serving a
 * certificate from the harness CA: the peer of the differential test.
 */
import type { Kube } from "./kube.js";
import { httpCall } from "../../../src/stack/http.js";
import { upstreamWebhookBin } from "./peers.js";
import { issueServingCert } from "./pki.js";
import {
  freePort,
  onCleanup,
  startProcess,
  waitUntil,
  type ManagedProcess,
} from "../../../src/stack/processes.js";

export interface UpstreamWebhookOptions {
  readonly name: string;
  /** Further flags (the mutation flags, e.g. "--aws-default-region=eu-west-1"). */
  readonly extraArgs?: readonly string[];
}

export interface UpstreamWebhook {
  readonly proc: ManagedProcess;
  /** HTTPS /mutate (and /healthz) on 127.0.0.1 (trust kube.ca). */
  readonly port: number;
  readonly metricsPort: number;
}

/**
 * Starts upstream's webhook with `--in-cluster=false` and resolves once its HTTPS /healthz answers.
 * It has no readiness endpoint: its ServiceAccount informer syncs moments later, so a caller waits
 * for a known account's pod to be mutated before comparing. Stopped by stopAll().
 */
export async function startUpstreamWebhook(
  kube: Kube,
  opts: UpstreamWebhookOptions,
): Promise<UpstreamWebhook> {
  const bin = upstreamWebhookBin();
  const cert = await issueServingCert(kube.ca, opts.name);
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = startProcess({
    name: opts.name,
    command: bin,
    args: [
      "--in-cluster=false",
      `--kubeconfig=${kube.kubeconfigFile}`,
      `--tls-cert=${cert.certFile}`,
      `--tls-key=${cert.keyFile}`,
      `--port=${port}`,
      `--metrics-port=${metricsPort}`,
      ...(opts.extraArgs ?? []),
    ],
    logDir: kube.dir,
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    `${opts.name} serving /healthz`,
    async () => (await httpCall(`https://127.0.0.1:${port}/healthz`, { ca: kube.ca.certPem })).status === 200,
    { proc, timeoutMs: 30_000 },
  );
  return { proc, port, metricsPort };
}
