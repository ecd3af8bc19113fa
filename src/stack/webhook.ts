/** `irsa webhook` (the built CLI) as a child process serving a certificate from the stack's CA. */
import { issueServingCert, type Cert } from "../adapters/pki/index.js";
import { httpCall } from "./http.js";
import type { Kube } from "./kube.js";
import { irsaCliPath } from "./peers.js";
import { freePort, onCleanup, startProcess, waitUntil, type ManagedProcess } from "./processes.js";

export interface IrsaWebhookOptions {
  /** Process and log name, and the serving certificate's file stem and CN. */
  readonly name: string;
  /** The kubeconfig the webhook watches ServiceAccounts through; default the admin one (kube.kubeconfigFile). */
  readonly kubeconfigFile?: string;
  /** The serving certificate; default a new one from `kube.ca` for 127.0.0.1. */
  readonly cert?: Cert;
  /** Further `irsa webhook` flags, e.g. "--log-level=debug". */
  readonly extraArgs?: readonly string[];
}

export interface IrsaWebhook {
  readonly proc: ManagedProcess;
  /** HTTPS /mutate on 127.0.0.1 (trust kube.ca). */
  readonly port: number;
  /** HTTP /metrics, /healthz and /readyz on 127.0.0.1. */
  readonly metricsPort: number;
}

/**
 * Starts `irsa webhook` on free loopback ports with a serving certificate from `kube.ca`, and
 * resolves once /readyz answers 200 (its ServiceAccount cache has synced). Stopped by stopAll().
 */
export async function startIrsaWebhook(kube: Kube, opts: IrsaWebhookOptions): Promise<IrsaWebhook> {
  const cert = opts.cert ?? (await issueServingCert(kube.ca, opts.name));
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = startProcess({
    name: opts.name,
    command: process.execPath,
    args: [
      irsaCliPath(),
      "webhook",
      `--port=${port}`,
      `--metrics-port=${metricsPort}`,
      "--bind-address=127.0.0.1",
      `--tls-cert=${cert.certFile}`,
      `--tls-key=${cert.keyFile}`,
      `--kubeconfig=${opts.kubeconfigFile ?? kube.kubeconfigFile}`,
      ...(opts.extraArgs ?? []),
    ],
    logDir: kube.dir,
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    `${opts.name} ready (ServiceAccount cache synced)`,
    async () => (await httpCall(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
    { proc, timeoutMs: 30_000 },
  );
  return { proc, port, metricsPort };
}
