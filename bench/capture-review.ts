/**
 * Captures the AdmissionReview a real kube-apiserver sends a mutating webhook for a pod CREATE (with
 * the managedFields it records), the request bench/webhook.ts sends: a Deployment-like pod with
 * three containers and an init container, created through the API as a controller would. Writes
 * test/fixtures/admission-review/pod-create.json.
 *
 * Run: IRSA_KUBE_APISERVER=... IRSA_ETCD=... node dist/bench/capture-review.js
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire. */
import { writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { V1Container } from "@kubernetes/client-node";
import {
  createNamespace,
  createPod,
  createServiceAccount,
  registerMutatingWebhook,
} from "../src/adapters/kubernetes/objects.js";
import { issueServingCert } from "../src/adapters/pki/index.js";
import { startKube, stopAll } from "../src/stack/index.js";

const OUT = fileURLToPath(new URL("../../test/fixtures/admission-review/pod-create.json", import.meta.url));

function container(name: string, port: number, probes = true, args?: string[]): V1Container {
  const c: V1Container = {
    name,
    image: `registry.example.com/shop/${name}:1.24.3`,
    imagePullPolicy: "IfNotPresent",
    args: args ?? ["--listen", `:${port}`, "--log-format=json"],
    ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "GOMAXPROCS", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1" } } },
      { name: "BUCKET", value: "shop-assets-eu-west-1" },
    ],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    volumeMounts: [
      { name: "config", mountPath: "/etc/shop", readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    },
  };
  if (probes) {
    c.readinessProbe = { httpGet: { path: "/readyz", port }, periodSeconds: 5 };
    c.livenessProbe = { httpGet: { path: "/healthz", port }, initialDelaySeconds: 10 };
  }
  return c;
}

try {
  const kube = await startKube();
  const ca = kube.ca;
  const cert = await issueServingCert(ca, "capture");
  const got: { review?: string } = {};
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const review = JSON.parse(body) as {
        request: { uid: string; object?: { metadata?: { name?: string } } };
      };
      if (review.request.object?.metadata?.name?.startsWith("web-") === true) got.review = body;
      const answer = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: review.request.uid, allowed: true },
      });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "capture",
    url: `https://127.0.0.1:${port}/mutate`,
    caBundle: ca.caBundle,
    failurePolicy: "Fail",
  });
  const ns = await createNamespace(kube.kubeConfig, "shop");
  await createServiceAccount(kube.kubeConfig, ns, "web", {
    "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/shop-web",
  });
  for (let i = 0; got.review === undefined && i < 200; i++) {
    await createPod(kube.kubeConfig, ns, {
      metadata: {
        name: `web-7c9f8d6b5-${String(i).padStart(5, "0")}`,
        labels: { app: "web", "pod-template-hash": "7c9f8d6b5", tier: "frontend" },
        annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" },
      },
      spec: {
        serviceAccountName: "web",
        initContainers: [container("migrate", 8079, false, ["migrate", "--up"])],
        containers: [container("web", 8080), container("worker", 8081), container("metrics", 9090)],
        volumes: [
          { name: "config", configMap: { name: "web-config" } },
          { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        ],
        nodeSelector: { "kubernetes.io/os": "linux" },
        terminationGracePeriodSeconds: 45,
      },
    });
    if (!("review" in got)) await new Promise((r) => setTimeout(r, 250));
  }
  const captured = got.review;
  if (captured === undefined) throw new Error("no AdmissionReview captured");
  writeFileSync(OUT, `${JSON.stringify(JSON.parse(captured), null, 2)}\n`);
  process.stdout.write(`${OUT}: ${Buffer.byteLength(captured)} bytes as sent\n`);
  server.close();
} finally {
  await stopAll();
}
