/**
 * `irsa webhook` hardening against a real kube-apiserver: it requires kube-apiserver's client
 * certificate (--client-ca-file, given to kube-apiserver through its AdmissionConfiguration, as the
 * README shows), and its ServiceAccount cache catches up within a few seconds after kube-apiserver
 * is SIGKILLed and restarted (etcd keeps running).
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire (as in webhook.test.ts). */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import {
  createCa,
  createNamespace,
  createPod,
  createServiceAccount,
  httpCall,
  issueCert,
  registerMutatingWebhook,
  startIrsaWebhook,
  startKube,
  stopAll,
  tempDir,
  waitForWebhook,
  type Ca,
  type Cert,
  type IrsaWebhook,
  type Kube,
} from "./harness/index.js";

const ROLE = "eks.amazonaws.com/role-arn";
const arn = (name: string) => `arn:aws:iam::111122223333:role/${name}`;

let kube: Kube;
let webhook: IrsaWebhook;
let clientCa: Ca;
let apiserverClient: Cert;

function roleOf(pod: V1Pod): string | undefined {
  return pod.spec?.containers[0]?.env?.find((e) => e.name === "AWS_ROLE_ARN")?.value;
}

async function metric(name: string): Promise<number> {
  const res = await httpCall(`http://127.0.0.1:${webhook.metricsPort}/metrics`);
  const line = res.text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

before(async () => {
  // What the README tells operators: a client certificate for kube-apiserver to present to the
  // webhook, in a kubeconfig named by a WebhookAdmissionConfiguration.
  const dir = await tempDir("admission");
  await mkdir(join(dir, "client-ca"));
  clientCa = await createCa(join(dir, "client-ca"), "webhook client CA");
  apiserverClient = await issueCert(clientCa, {
    name: "kube-apiserver-client",
    commonName: "kube-apiserver",
    usage: "client",
  });
  const kubeconfig = join(dir, "admission-kubeconfig.yaml");
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
users:
  - name: "*"
    user:
      client-certificate: ${apiserverClient.certFile}
      client-key: ${apiserverClient.keyFile}
`,
  );
  const admissionConfig = join(dir, "admission-config.yaml");
  await writeFile(
    admissionConfig,
    `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: MutatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: ${kubeconfig}
`,
  );
  kube = await startKube({ extraArgs: [`--admission-control-config-file=${admissionConfig}`] });
  webhook = await startIrsaWebhook(kube, {
    name: "irsa-webhook-mtls",
    extraArgs: [`--client-ca-file=${clientCa.certFile}`],
  });
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa",
    url: `https://127.0.0.1:${webhook.port}/mutate`,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Fail",
  });
});

after(async () => {
  await stopAll();
});

describe("irsa webhook --client-ca-file with a real kube-apiserver", () => {
  it("is called by kube-apiserver with the client certificate of its AdmissionConfiguration", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "app", { [ROLE]: arn("mtls") });
    // failurePolicy Fail: a refused handshake would fail the pod's creation.
    const pod = await waitForWebhook(kube.kubeConfig, ns, (p) => roleOf(p) === arn("mtls"), {
      makePod: () => ({
        spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
      }),
    });
    assert.equal(roleOf(pod), arn("mtls"));
  });

  it("refuses a client without the certificate, or with kube-apiserver's admin certificate from another CA", async () => {
    const attempt = (client: { cert?: string; key?: string }): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: webhook.port,
            path: "/mutate",
            method: "POST",
            ca: kube.ca.certPem,
            ...client,
            agent: false,
            headers: { "Content-Type": "application/json" },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end("{}");
      });
    await assert.rejects(attempt({}), "no client certificate");
    await assert.rejects(attempt({ cert: kube.admin.certPem, key: kube.admin.keyPem }), "another CA");
    assert.equal(
      await attempt({ cert: apiserverClient.certPem, key: apiserverClient.keyPem }),
      400,
      "with the certificate: through to the route (400: not an AdmissionReview)",
    );
  });
});

describe("irsa webhook after kube-apiserver is SIGKILLed and restarted", () => {
  /** From the ServiceAccount change to the first pod with the new role: the 4 s backoff cap plus connecting and relisting, with room for a loaded machine. */
  const BOUND_MS = 8000;
  const OUTAGE_MS = 30_000;

  it(`gives the next pods a changed role ARN within ${BOUND_MS} ms of the change`, async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "app", { [ROLE]: arn("before") });
    const makePod = () => ({
      spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
    });
    await waitForWebhook(kube.kubeConfig, ns, (p) => roleOf(p) === arn("before"), { makePod });

    await kube.stopApiserver({ kill: true });
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const disconnected = await metric("irsa_webhook_service_account_cache_disconnected_seconds");
    assert.ok(disconnected >= 10, `the gauge says the API server is gone (${disconnected} s)`);
    await kube.startApiserver();

    const changed = Date.now();
    await kube.kubeConfig.makeApiClient(CoreV1Api).patchNamespacedServiceAccount({
      namespace: ns,
      name: "app",
      body: [
        { op: "replace", path: `/metadata/annotations/${ROLE.replace("/", "~1")}`, value: arn("after") },
      ],
    });
    let first: number | undefined;
    const seen: string[] = [];
    while (Date.now() - changed < BOUND_MS + 10_000) {
      const role = roleOf(await createPod(kube.kubeConfig, ns, makePod())) ?? "(none)";
      seen.push(role);
      if (role === arn("after")) {
        first ??= Date.now() - changed;
        if (seen.filter((r) => r === arn("after")).length >= 3) break;
      } else {
        assert.equal(first, undefined, `a pod got ${role} after one had the new role: ${seen.join(", ")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      first !== undefined,
      `no pod got the new role within ${BOUND_MS + 10_000} ms: ${seen.join(", ")}`,
    );
    assert.ok(first <= BOUND_MS, `the first pod with the new role came ${first} ms after the change`);
    assert.equal(await metric("irsa_webhook_service_account_cache_disconnected_seconds"), 0);
  });
});
