/** `irsa sts serve` (the built CLI) as a child process on a free loopback port, plain HTTP. */
import { httpCall } from "./http.js";
import { irsaCliPath } from "./peers.js";
import { freePort, onCleanup, startProcess, waitUntil, type ManagedProcess } from "./processes.js";

export interface IrsaSts {
  readonly proc: ManagedProcess;
  /** http://127.0.0.1:PORT: the STS endpoint (AWS_ENDPOINT_URL_STS). */
  readonly endpoint: string;
}

/**
 * Starts `irsa sts serve --config FILE` and resolves once /readyz answers 200. Stopped by stopAll().
 * Keep `logDir` apart from the config's directory: the STS watches that directory for changes.
 */
export async function startIrsaSts(configFile: string, logDir: string, name = "irsa-sts"): Promise<IrsaSts> {
  const port = await freePort();
  const healthPort = await freePort();
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [
      irsaCliPath(),
      "sts",
      "serve",
      `--config=${configFile}`,
      `--port=${port}`,
      `--health-port=${healthPort}`,
      "--log-level=info",
    ],
    logDir,
  });
  onCleanup(() => proc.stop());
  await waitUntil(
    `${name} ready`,
    async () => (await httpCall(`http://127.0.0.1:${healthPort}/readyz`)).status === 200,
    { proc, timeoutMs: 30_000 },
  );
  return { proc, endpoint: `http://127.0.0.1:${port}` };
}
