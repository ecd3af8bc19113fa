/**
 * The harness's webhook plumbing works against the real API server: a serving certificate from
 * issueServingCert, registered by URL with the CA's caBundle, is called on pod CREATE and its
 * JSON Patch lands in the stored pod.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  createNamespace,
  issueServingCert,
  readPod,
  registerMutatingWebhook,
  startKube,
  stopAll,
  waitForWebhook,
  type Kube,
} from "./harness/index.js";

let kube: Kube;
let server: Server;
let calls = 0;

before(async () => {
  kube = await startKube();
  const cert = await issueServingCert(kube.ca, "probe-webhook");
  server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      calls++;
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request: { uid: string } };
      const patch = [
        { op: "add", path: "/metadata/annotations", value: { "e2e.irsa-anywhere/probe": "seen" } },
      ];
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: "JSONPatch",
            patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
after(async () => {
  server.close();
  await stopAll();
});

test("a webhook registered by URL with the harness CA's caBundle mutates pods", async () => {
  const { port } = server.address() as AddressInfo;
  const ns = await createNamespace(kube.kubeConfig);
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "probe",
    url: `https://127.0.0.1:${port}/mutate`,
    caBundle: kube.ca.caBundle,
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
  });
  const pod = await waitForWebhook(
    kube.kubeConfig,
    ns,
    (p) => p.metadata?.annotations?.["e2e.irsa-anywhere/probe"] === "seen",
  );
  assert.ok(calls > 0);
  const stored = await readPod(kube.kubeConfig, ns, pod.metadata?.name ?? "");
  assert.equal(stored.metadata?.annotations?.["e2e.irsa-anywhere/probe"], "seen");
  // The ServiceAccount admission plugin ran too: the namespace's default ServiceAccount exists.
  assert.equal(stored.spec?.serviceAccountName, "default");
});
