/**
 * The webhook server in a process of its own, for tests that need it under a memory limit
 * (`node --max-old-space-size=N`): startWebhookServer with the production defaults (body limit,
 * bytes-in-flight budget, patch bound) and an in-memory FAKE ServiceAccount source holding
 * team-a/app with a role. Usage: node webhook-child.js CERT KEY; prints {"port","metricsPort"} once
 * listening and ready, stops on SIGTERM.
 */
import { webhookConfig } from "../../src/core/mutate/config.js";
import { podAdmitter } from "../../src/webhook/admit.js";
import { WebhookMetrics } from "../../src/webhook/metrics.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "../../src/webhook/sa-cache.js";
import { startWebhookServer } from "../../src/webhook/server.js";
import { FakeServiceAccountSource, quiet } from "./fake-sa-source.js";

const [certFile, keyFile] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined) throw new Error("usage: webhook-child CERT KEY");
const source = new FakeServiceAccountSource();
source.put("team-a", "app", { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app" });
const config = webhookConfig({ jitter: () => 0 });
const metrics = new WebhookMetrics();
const cache = new ServiceAccountCache(source, {
  annotationKeys: serviceAccountAnnotationKeys(config.annotationPrefix),
  getTimeoutMs: 1000,
  log: quiet,
});
cache.start();
while (!cache.synced()) await new Promise((r) => setTimeout(r, 5));
const server = await startWebhookServer({
  host: "127.0.0.1",
  port: 0,
  metricsPort: 0,
  tlsCertFile: certFile,
  tlsKeyFile: keyFile,
  admitPod: podAdmitter({ config, cache, gracePeriodMs: 100 }),
  ready: () => cache.synced(),
  log: quiet,
  metrics,
});
process.stdout.write(`${JSON.stringify({ port: server.port, metricsPort: server.metricsPort })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => cache.stop());
});
