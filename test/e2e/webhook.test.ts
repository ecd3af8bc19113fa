/**
 * `irsa webhook` against a real kube-apiserver: registered by URL with the harness CA's caBundle,
 * it watches real ServiceAccounts and kube-apiserver stores the pods it mutates.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire (as in harness/k8s.ts). */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer as createHttpsServer, request as httpsRequest, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AuthorizationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Container,
  type V1Pod,
} from "@kubernetes/client-node";
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { parseAllDocuments } from "yaml";
import {
  createNamespace,
  createPod,
  createServiceAccount,
  httpCall,
  irsaOk,
  issueServingCert,
  readPod,
  registerMutatingWebhook,
  REPO_ROOT,
  requestToken,
  startIrsaWebhook,
  startKube,
  stopAll,
  uniqueName,
  waitForWebhook,
  type Kube,
  type ManagedProcess,
} from "./harness/index.js";

const ROLE = "eks.amazonaws.com/role-arn";
const arn = (name: string) => `arn:aws:iam::111122223333:role/${name}`;
const TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

let kube: Kube;
let webhook: ManagedProcess;
let metricsPort: number;

function env(c: V1Container | undefined): Record<string, string> {
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

function isMutated(pod: V1Pod, role: string): boolean {
  return env(pod.spec?.containers[0]).AWS_ROLE_ARN === role;
}

async function metric(name: string, port = metricsPort): Promise<number> {
  const res = await httpCall(`http://127.0.0.1:${port}/metrics`);
  const line = res.text.split("\n").find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

/**
 * An HTTPS proxy to kube-apiserver (as admin) that holds every byte of watch responses back for
 * `delayMs`: a webhook behind it sees new ServiceAccounts late, as under a loaded API server,
 * while its list and direct GETs go through at once.
 */
async function startLaggingProxy(delayMs: number): Promise<{ server: Server; kubeconfigFile: string }> {
  const cert = await issueServingCert(kube.ca, "lagging-proxy");
  const server = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const watch = new URL(req.url ?? "/", kube.url).searchParams.get("watch") === "true";
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = httpsRequest(
      `${kube.url}${req.url ?? "/"}`,
      { method: req.method, headers, ca: kube.ca.certPem, cert: kube.admin.certPem, key: kube.admin.keyPem },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!watch) {
          up.pipe(res);
          return;
        }
        res.flushHeaders();
        up.on("data", (chunk: Buffer) => setTimeout(() => res.write(chunk), delayMs));
        up.on("end", () => setTimeout(() => res.end(), delayMs));
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const kubeconfigFile = join(kube.dir, "kubeconfig-lagging");
  await writeFile(
    kubeconfigFile,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "proxy",
          cluster: { server: `https://127.0.0.1:${port}`, "certificate-authority": kube.ca.certFile },
        },
      ],
      users: [{ name: "via-proxy", user: {} }],
      contexts: [{ name: "proxy", context: { cluster: "proxy", user: "via-proxy" } }],
      "current-context": "proxy",
    }),
  );
  return { server, kubeconfigFile };
}

const LAGGING = "irsa-e2e/lagging-watch";
const WATCH_DELAY_MS = 5000;
let lagging: { proc: ManagedProcess; metricsPort: number; proxy: Server };

before(async () => {
  kube = await startKube();
  const main = await startIrsaWebhook(kube, { name: "irsa-webhook", extraArgs: ["--log-level=debug"] });
  webhook = main.proc;
  metricsPort = main.metricsPort;
  // Fail, not production's Ignore: any error answer from the webhook fails the test's pod creation.
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa",
    url: `https://127.0.0.1:${main.port}/mutate`,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Fail",
    reinvocationPolicy: "IfNeeded",
    namespaceSelector: { matchExpressions: [{ key: LAGGING, operator: "DoesNotExist" }] },
    objectSelector: {
      matchExpressions: [{ key: "eks.amazonaws.com/skip-pod-identity-webhook", operator: "DoesNotExist" }],
    },
  });
  const ns = await createNamespace(kube.kubeConfig);
  await createServiceAccount(kube.kubeConfig, ns, "probe", { [ROLE]: arn("probe") });
  await waitForWebhook(kube.kubeConfig, ns, (p) => isMutated(p, arn("probe")), {
    makePod: () => ({
      spec: { serviceAccountName: "probe", containers: [{ name: "app", image: "busybox" }] },
    }),
  });

  // A second instance whose watch lags, serving only namespaces labelled LAGGING.
  const { server, kubeconfigFile } = await startLaggingProxy(WATCH_DELAY_MS);
  const slow = await startIrsaWebhook(kube, {
    name: "irsa-webhook-lagging",
    kubeconfigFile,
    extraArgs: ["--log-level=debug"],
  });
  lagging = { proc: slow.proc, metricsPort: slow.metricsPort, proxy: server };
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa-lagging",
    url: `https://127.0.0.1:${slow.port}/mutate`,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Fail",
    namespaceSelector: { matchExpressions: [{ key: LAGGING, operator: "Exists" }] },
  });
  const lns = await createNamespace(kube.kubeConfig, uniqueName("lag"), { [LAGGING]: "true" });
  await createServiceAccount(kube.kubeConfig, lns, "probe", { [ROLE]: arn("probe") });
  await waitForWebhook(kube.kubeConfig, lns, (p) => isMutated(p, arn("probe")), {
    makePod: () => ({
      spec: { serviceAccountName: "probe", containers: [{ name: "app", image: "busybox" }] },
    }),
  });
});

after(async () => {
  await webhook.stop();
  await lagging.proc.stop();
  lagging.proxy.close();
  lagging.proxy.closeAllConnections();
  await stopAll();
});

describe("irsa webhook with a real kube-apiserver", () => {
  it("stores a pod for an annotated ServiceAccount mutated", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "app", {
      [ROLE]: arn("app"),
      "eks.amazonaws.com/token-expiration": "3600",
    });
    const created = await createPod(kube.kubeConfig, ns, {
      spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
    });
    const pod = await readPod(kube.kubeConfig, ns, created.metadata?.name ?? "");
    const e = env(pod.spec?.containers[0]);
    assert.equal(e.AWS_ROLE_ARN, arn("app"));
    assert.equal(e.AWS_WEB_IDENTITY_TOKEN_FILE, `${TOKEN_DIR}/token`);
    const mount = pod.spec?.containers[0]?.volumeMounts?.find((m) => m.name === "aws-iam-token");
    assert.ok(mount, "the token volume is mounted");
    assert.equal(mount.mountPath, TOKEN_DIR);
    assert.equal(mount.readOnly, true);
    const volume = pod.spec?.volumes?.find((v) => v.name === "aws-iam-token");
    const token = volume?.projected?.sources?.[0]?.serviceAccountToken;
    assert.ok(token, "a projected service account token volume");
    assert.equal(token.audience, "sts.amazonaws.com");
    assert.equal(token.expirationSeconds, 3600);
    assert.equal(token.path, "token");
  });

  it("injects a token volume and file path that kube-apiserver can fill: a TokenRequest for them verifies", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "reader", {
      [ROLE]: arn("reader"),
      "eks.amazonaws.com/audience": "minio.example.com",
      "eks.amazonaws.com/token-expiration": "7200",
    });
    const created = await createPod(kube.kubeConfig, ns, {
      spec: { serviceAccountName: "reader", containers: [{ name: "app", image: "busybox" }] },
    });
    const pod = await readPod(kube.kubeConfig, ns, created.metadata?.name ?? "");
    const container = pod.spec?.containers[0];
    const volume = pod.spec?.volumes?.find((v) => v.name === "aws-iam-token");
    const projected = volume?.projected?.sources?.[0]?.serviceAccountToken;
    const mount = container?.volumeMounts?.find((m) => m.name === "aws-iam-token");
    assert.ok(projected && mount, "a projected token volume, mounted");
    // The SDKs read the token at AWS_WEB_IDENTITY_TOKEN_FILE: it must be the projected file.
    assert.equal(env(container).AWS_WEB_IDENTITY_TOKEN_FILE, posix.join(mount.mountPath, projected.path));

    // What the kubelet asks for to fill the volume: a token for that audience and lifetime, bound to the pod.
    const { token } = await requestToken(kube.kubeConfig, ns, "reader", {
      audiences: [projected.audience ?? ""],
      expirationSeconds: projected.expirationSeconds ?? 0,
      boundPod: { name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
    });
    const jwks = JSON.parse((await irsaOk(["jwks", "--key", kube.saPubFile])).stdout) as JSONWebKeySet;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: kube.issuer,
      audience: "minio.example.com",
      subject: `system:serviceaccount:${ns}:reader`,
    });
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 7200, "the lifetime the volume asks for");
    const bound = payload["kubernetes.io"] as { pod?: { name?: string; uid?: string } };
    assert.equal(bound.pod?.uid, pod.metadata?.uid, "bound to the mutated pod");
  });

  it("leaves pods alone whose ServiceAccount has no role, or that carry the skip label", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    const plain = await createPod(kube.kubeConfig, ns);
    assert.equal(env(plain.spec?.containers[0]).AWS_ROLE_ARN, undefined);
    await createServiceAccount(kube.kubeConfig, ns, "app", { [ROLE]: arn("skipped") });
    const skipped = await createPod(kube.kubeConfig, ns, {
      metadata: {
        name: uniqueName("skip"),
        labels: { "eks.amazonaws.com/skip-pod-identity-webhook": "true" },
      },
      spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
    });
    assert.equal(env(skipped.spec?.containers[0]).AWS_ROLE_ARN, undefined);
    assert.equal(
      skipped.spec?.volumes?.find((v) => v.name === "aws-iam-token"),
      undefined,
    );
    // The control: the same account's pod without the label, right after, is mutated, so the
    // webhook was up and answering; only the label and the missing role kept it away.
    const control = await createPod(kube.kubeConfig, ns, {
      spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
    });
    assert.ok(
      isMutated(control, arn("skipped")),
      "the webhook mutates the unlabelled pod of the same account",
    );
  });

  it("mutates pods created in the same burst as their ServiceAccounts, each found by one direct GET", async () => {
    // The instance behind the lagging proxy sees no new account through its watch for
    // WATCH_DELAY_MS, so every pod of the burst reaches it before its account does: the race is
    // certain, not left to timing. kube-apiserver's ServiceAccount admission runs before webhooks
    // (a pod whose account does not exist yet is refused with 403 and retried, as a ReplicaSet
    // controller does), so the account exists when the webhook asks: the direct GET must find it.
    const ns = await createNamespace(kube.kubeConfig, uniqueName("lag"), { [LAGGING]: "true" });
    const count = 8;
    const getsBefore = await metric(
      'irsa_webhook_service_account_lookups_total{via="get"}',
      lagging.metricsPort,
    );
    const createPodRetrying = async (name: string): Promise<V1Pod> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await createPod(kube.kubeConfig, ns, {
            spec: { serviceAccountName: name, containers: [{ name: "app", image: "busybox" }] },
          });
        } catch (e) {
          if ((e as { code?: number }).code !== 403 || attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    // Half the accounts are created just before their pod, half at the same moment (as applying a
    // Deployment and its ServiceAccount together does).
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const t0 = Date.now();
        const sa = createServiceAccount(kube.kubeConfig, ns, `burst-${i}`, { [ROLE]: arn(`burst-${i}`) });
        if (i % 2 === 0) await sa;
        const [pod] = await Promise.all([createPodRetrying(`burst-${i}`), sa]);
        return { pod, ms: Date.now() - t0 };
      }),
    );
    results.forEach(({ pod, ms }, i) => {
      assert.ok(ms < WATCH_DELAY_MS, `burst-${i} took ${ms} ms: its account may have come through the watch`);
      assert.ok(isMutated(pod, arn(`burst-${i}`)), `pod for burst-${i} mutated`);
    });
    const gets =
      (await metric('irsa_webhook_service_account_lookups_total{via="get"}', lagging.metricsPort)) -
      getsBefore;
    assert.equal(gets, count, "every account of the burst was found by the direct GET");
  });

  it("mutates a pod whose ServiceAccount its watch has not delivered yet (direct GET)", async () => {
    const ns = await createNamespace(kube.kubeConfig, uniqueName("lag"), { [LAGGING]: "true" });
    const gets = await metric('irsa_webhook_service_account_lookups_total{via="get"}', lagging.metricsPort);
    const t0 = Date.now();
    await createServiceAccount(kube.kubeConfig, ns, "fresh", { [ROLE]: arn("fresh") });
    const pod = await createPod(kube.kubeConfig, ns, {
      spec: { serviceAccountName: "fresh", containers: [{ name: "app", image: "busybox" }] },
    });
    const ms = Date.now() - t0;
    assert.ok(isMutated(pod, arn("fresh")), "mutated");
    assert.ok(ms < WATCH_DELAY_MS, `answered in ${ms} ms, before the lagging watch delivered the account`);
    const after = await metric('irsa_webhook_service_account_lookups_total{via="get"}', lagging.metricsPort);
    assert.equal(after - gets, 1, "found by one direct GET");
  });

  it("keeps startupProbe, gRPC probes and native sidecars, and mutates the sidecar too", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "app", { [ROLE]: arn("probes") });
    const created = await createPod(kube.kubeConfig, ns, {
      spec: {
        serviceAccountName: "app",
        initContainers: [
          {
            name: "proxy",
            image: "busybox",
            restartPolicy: "Always",
            startupProbe: { tcpSocket: { port: 15000 }, periodSeconds: 1, failureThreshold: 30 },
          },
        ],
        containers: [
          {
            name: "app",
            image: "busybox",
            ports: [{ containerPort: 9090, name: "grpc" }],
            startupProbe: { httpGet: { path: "/started", port: 8080 }, failureThreshold: 60 },
            livenessProbe: { grpc: { port: 9090, service: "liveness" }, periodSeconds: 5 },
            readinessProbe: { grpc: { port: 9090 } },
          },
        ],
      },
    });
    const pod = await readPod(kube.kubeConfig, ns, created.metadata?.name ?? "");
    const sidecar = pod.spec?.initContainers?.[0];
    const app = pod.spec?.containers[0];
    assert.ok(sidecar && app);
    assert.equal(sidecar.restartPolicy, "Always");
    assert.equal(sidecar.startupProbe?.tcpSocket?.port, 15000);
    assert.equal(env(sidecar).AWS_ROLE_ARN, arn("probes"));
    const { startupProbe, livenessProbe, readinessProbe } = app;
    assert.ok(startupProbe && livenessProbe && readinessProbe, "the probes are kept");
    assert.equal(startupProbe.httpGet?.path, "/started");
    assert.equal(startupProbe.failureThreshold, 60);
    assert.equal(livenessProbe.grpc?.port, 9090);
    assert.equal(livenessProbe.grpc.service, "liveness");
    assert.equal(readinessProbe.grpc?.port, 9090);
    assert.equal(env(app).AWS_ROLE_ARN, arn("probes"));
  });

  it("stores what upstream got wrong: a token lifetime over 2^32 s, a foreign aws-iam-token volume, a dry run", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "app", { [ROLE]: arn("upstream-bugs") });
    const spec = { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] };
    // kube-apiserver refuses a projected token over 2^32 s; upstream passed the annotation through.
    const long = await createPod(kube.kubeConfig, ns, {
      metadata: {
        name: uniqueName("long"),
        annotations: { "eks.amazonaws.com/token-expiration": "99999999999" },
      },
      spec,
    });
    const token = long.spec?.volumes?.find((v) => v.name === "aws-iam-token")?.projected?.sources?.[0];
    assert.equal(token?.serviceAccountToken?.expirationSeconds, 2 ** 32);
    // Upstream #315: the pod's own volume of that name; upstream pointed the env and mount at it.
    const foreign = await createPod(kube.kubeConfig, ns, {
      spec: { ...spec, volumes: [{ name: "aws-iam-token", emptyDir: {} }] },
    });
    assert.equal(env(foreign.spec?.containers[0]).AWS_ROLE_ARN, undefined);
    assert.equal(
      foreign.spec?.containers[0]?.volumeMounts?.some((m) => m.name === "aws-iam-token"),
      false,
    );
    // Upstream #46: a dry run (kubectl diff) reaches the webhook and comes back mutated.
    const dry = await kube.kubeConfig.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: ns,
      dryRun: "All",
      body: { apiVersion: "v1", kind: "Pod", metadata: { name: uniqueName("dry") }, spec },
    });
    assert.ok(isMutated(dry, arn("upstream-bugs")));
  });

  it("follows a ServiceAccount annotated after creation", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "late");
    const first = await createPod(kube.kubeConfig, ns, {
      spec: { serviceAccountName: "late", containers: [{ name: "app", image: "busybox" }] },
    });
    assert.equal(env(first.spec?.containers[0]).AWS_ROLE_ARN, undefined);
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const sa = await core.readNamespacedServiceAccount({ namespace: ns, name: "late" });
    sa.metadata = Object.assign(sa.metadata ?? {}, { annotations: { [ROLE]: arn("late") } });
    await core.replaceNamespacedServiceAccount({ namespace: ns, name: "late", body: sa });
    await waitForWebhook(kube.kubeConfig, ns, (p) => isMutated(p, arn("late")), {
      makePod: () => ({
        spec: { serviceAccountName: "late", containers: [{ name: "app", image: "busybox" }] },
      }),
      timeoutMs: 10_000,
    });
  });

  it("accepts deploy/webhook.yaml as kube-apiserver validates it, with least-privilege RBAC", async () => {
    const text = await readFile(join(REPO_ROOT, "deploy/webhook.yaml"), "utf8");
    const objects = parseAllDocuments(text)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => o !== null);
    const api = KubernetesObjectApi.makeApiClient(kube.kubeConfig);
    // The namespace and RBAC for real (the access review below needs them), the rest dry-run.
    for (const o of objects) {
      const real = [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
      ].includes(o.kind ?? "");
      await api.create(o, undefined, real ? undefined : "All");
    }
    const authz = kube.kubeConfig.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string): Promise<boolean> => {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: "system:serviceaccount:irsa-anywhere:irsa-anywhere-webhook",
            groups: [
              "system:serviceaccounts",
              "system:serviceaccounts:irsa-anywhere",
              "system:authenticated",
            ],
            resourceAttributes: { verb, resource, group: "" },
          },
        },
      });
      return r.status?.allowed === true;
    };
    for (const verb of ["get", "list", "watch"]) assert.ok(await can(verb, "serviceaccounts"), verb);
    for (const [verb, resource] of [
      ["update", "serviceaccounts"],
      ["create", "serviceaccounts"],
      ["list", "pods"],
      ["get", "secrets"],
    ] as const) {
      assert.equal(await can(verb, resource), false, `${verb} ${resource}`);
    }
  });

  it("exits 0 on SIGTERM", async () => {
    await webhook.stop(10_000);
    assert.equal(webhook.exitStatus, "0");
  });
});
