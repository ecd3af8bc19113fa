/**
 * `irsa webhook --self-signed-tls` against the real API server: two replicas started together
 * agree on one CA through the Secret's create-if-absent (409 AlreadyExists for the loser), both
 * serve a certificate from it, the caBundle they patch into their MutatingWebhookConfiguration
 * lets kube-apiserver call them (a pod is stored mutated), and a forced renewal (SIGHUP) keeps
 * every admission working while pods are created in a loop.
 *
 * The replicas run with a ServiceAccount token bound to exactly the RBAC the Helm chart grants
 * (deploy/helm/irsa-anywhere/templates/webhook-rbac.yaml): list and watch ServiceAccounts; get and
 * update on the one Secret by name; create on secrets in the namespace (create cannot be limited
 * by resourceNames); get and patch on the one MutatingWebhookConfiguration by name.
 *
 * The configuration holds one webhook per replica (registered by URL: no kube-proxy here), with
 * failurePolicy Fail, so every pod creation calls both replicas and fails if either's certificate
 * is not trusted.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire. */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1Pod,
} from "@kubernetes/client-node";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect } from "node:tls";
import { kubeTlsObjects, type TlsObjects } from "../../src/adapters/kubernetes/tls-secret.js";
import { ManagedTls } from "../../src/webhook/managed-tls.js";
import { silentLog as quiet } from "../../src/runtime/log.js";
import { LOG_FLUSH_INTERVAL_MS } from "../../src/runtime/logger.js";
import {
  createNamespace,
  createPod,
  createServiceAccount,
  freePort,
  httpCall,
  IRSA_CLI,
  readPod,
  requestToken,
  startKube,
  startProcess,
  stopAll,
  waitForWebhook,
  waitUntil,
  type Kube,
  type ManagedProcess,
} from "./harness/index.js";

const SECRET = "irsa-webhook-tls";
const CONFIG = "irsa-self-signed";
const ROLE = "arn:aws:iam::111122223333:role/self-signed";

let kube: Kube;
let ns: string;
let podNs: string;
let kubeconfig: string;
const replicas: { proc: ManagedProcess; port: number; metricsPort: number }[] = [];

/** The serving certificate a replica presents. */
function served(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" }, () => {
      const raw = s.getPeerX509Certificate();
      s.destroy();
      if (raw === undefined) reject(new Error("no peer certificate"));
      else resolve(raw);
    });
    s.on("error", reject);
  });
}

async function secretData(): Promise<Record<string, string>> {
  const s = await kube.kubeConfig
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ namespace: ns, name: SECRET });
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}

const mutated = (p: V1Pod): boolean =>
  p.spec?.containers[0]?.env?.some((e) => e.name === "AWS_ROLE_ARN" && e.value === ROLE) === true;

before(async () => {
  kube = await startKube();
  ns = await createNamespace(kube.kubeConfig);
  podNs = await createNamespace(kube.kubeConfig);
  await createServiceAccount(kube.kubeConfig, podNs, "app", { "eks.amazonaws.com/role-arn": ROLE });

  // The chart's RBAC, for a ServiceAccount whose token the replicas use.
  const core = kube.kubeConfig.makeApiClient(CoreV1Api);
  const rbac = kube.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "webhook" } } });
  const subject = [{ kind: "ServiceAccount", name: "webhook", namespace: ns }];
  await rbac.createClusterRole({
    body: {
      metadata: { name: `${ns}-webhook` },
      rules: [
        { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list", "watch"] },
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          resourceNames: [CONFIG],
          verbs: ["get", "patch"],
        },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${ns}-webhook` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${ns}-webhook` },
      subjects: subject,
    },
  });
  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name: "webhook-tls" },
      rules: [
        { apiGroups: [""], resources: ["secrets"], resourceNames: [SECRET], verbs: ["get", "update"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: "webhook-tls" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "webhook-tls" },
      subjects: subject,
    },
  });
  const { token } = await requestToken(kube.kubeConfig, ns, "webhook", { expirationSeconds: 3600 });
  kubeconfig = join(kube.dir, "webhook-sa.kubeconfig");
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: kube.url, "certificate-authority": kube.ca.certFile } }],
      users: [{ name: "webhook", user: { token } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "webhook" } }],
      "current-context": "c",
    }),
  );
});
after(stopAll);

test("two replicas started together agree on one CA and kube-apiserver calls both with its caBundle", async () => {
  const ports = [await freePort(), await freePort()];
  // Registered first, with no caBundle: the replicas fill it in.
  await kube.kubeConfig.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      metadata: { name: CONFIG },
      webhooks: ports.map((port, i) => ({
        name: `r${i}.irsa-anywhere.local`,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        clientConfig: { url: `https://127.0.0.1:${port}/mutate` },
        rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
        failurePolicy: "Fail",
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": podNs } },
        timeoutSeconds: 10,
      })),
    },
  });
  for (const [i, port] of ports.entries()) {
    const metricsPort = await freePort();
    const proc = startProcess({
      name: `self-signed-${i}`,
      command: process.execPath,
      args: [
        IRSA_CLI,
        "webhook",
        "--self-signed-tls",
        `--namespace=${ns}`,
        `--tls-secret=${SECRET}`,
        `--webhook-config-name=${CONFIG}`,
        "--tls-san=127.0.0.1",
        "--tls-resync-period=1s",
        `--port=${port}`,
        `--metrics-port=${metricsPort}`,
        "--bind-address=127.0.0.1",
        `--kubeconfig=${kubeconfig}`,
      ],
      logDir: kube.dir,
    });
    replicas.push({ proc, port, metricsPort });
  }
  // Both were spawned before either could write: they race for the Secret.
  await Promise.all(
    replicas.map((r) =>
      waitUntil(
        `${r.proc.name} ready`,
        async () => (await httpCall(`http://127.0.0.1:${r.metricsPort}/readyz`)).status === 200,
        { proc: r.proc, timeoutMs: 60_000 },
      ),
    ),
  );

  const data = await secretData();
  const cas = data["ca.crt"]?.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  assert.equal(cas.length, 1, "one CA in the Secret");
  const ca = new X509Certificate(data["ca.crt"] ?? "");
  const stored = new X509Certificate(data["tls.crt"] ?? "");
  for (const r of replicas) {
    const cert = await served(r.port);
    assert.ok(cert.verify(ca.publicKey), `${r.proc.name} serves a certificate signed by the Secret's CA`);
    assert.equal(
      cert.fingerprint256,
      stored.fingerprint256,
      `${r.proc.name} serves the Secret's certificate`,
    );
    assert.ok(cert.checkIP("127.0.0.1"), "with the --tls-san IP");
    assert.ok(cert.checkHost(`pod-identity-webhook.${ns}.svc`, { subject: "never" }));
  }
  // Exactly one replica created the Secret; the other found it (or lost the create with a 409).
  // The webhook's log is buffered (flushed every LOG_FLUSH_INTERVAL_MS): wait for the winner's line,
  // then one more flush, so a second create line would be in the files too before counting.
  const readLogs = (): Promise<string[]> =>
    Promise.all(replicas.map((r) => readFile(r.proc.logFile, "utf8")));
  const CREATED = /"action":"create","why":"no Secret yet","outcome":"written"/g;
  await waitUntil(
    "a replica logs that it created the Secret",
    async () => (await readLogs()).join("\n").match(CREATED) !== null,
    {
      timeoutMs: 10_000,
    },
  );
  await new Promise((r) => setTimeout(r, 2 * LOG_FLUSH_INTERVAL_MS));
  const logs = await readLogs();
  const creates = logs.join("\n").match(CREATED) ?? [];
  assert.equal(creates.length, 1, `one create won:\n${logs.join("\n")}`);

  const config = await kube.kubeConfig
    .makeApiClient(AdmissionregistrationV1Api)
    .readMutatingWebhookConfiguration({ name: CONFIG });
  const bundle = Buffer.from(data["ca.crt"] ?? "").toString("base64");
  assert.deepEqual(
    config.webhooks?.map((w) => w.clientConfig.caBundle),
    [bundle, bundle],
  );

  const pod = await waitForWebhook(kube.kubeConfig, podNs, mutated, {
    makePod: () => ({ spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] } }),
  });
  const back = await readPod(kube.kubeConfig, podNs, pod.metadata?.name ?? "");
  assert.ok(mutated(back), "the stored pod has AWS_ROLE_ARN");
});

test("a forced renewal (SIGHUP) swaps the certificate on both replicas with zero failed admissions", async (t) => {
  const [first, second] = replicas;
  assert.ok(first !== undefined && second !== undefined, "the first test started both replicas");
  const before = (await served(first.port)).fingerprint256;
  const caBefore = (await secretData())["ca.crt"];
  let stop = false;
  let created = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      try {
        const p = await createPod(kube.kubeConfig, podNs, {
          spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }] },
        });
        if (mutated(p)) created++;
        else failures.push(`${p.metadata?.name ?? ""} stored unmutated`);
      } catch (e) {
        failures.push(String(e));
      }
    }
  })();
  // Some admissions before the renewal, then the signal, then until both serve the new certificate.
  await waitUntil("pods admitted before the renewal", () => Promise.resolve(created >= 5), {
    timeoutMs: 30_000,
  });
  process.kill(first.proc.pid, "SIGHUP");
  await waitUntil(
    "both replicas serve the renewed certificate",
    async () => {
      const [a, b] = await Promise.all([served(first.port), served(second.port)]);
      return a.fingerprint256 !== before && a.fingerprint256 === b.fingerprint256;
    },
    { timeoutMs: 30_000 },
  );
  const atSwap = created;
  await waitUntil("pods admitted after the renewal", () => Promise.resolve(created >= atSwap + 5), {
    timeoutMs: 30_000,
  });
  stop = true;
  await loop;
  assert.deepEqual(failures, [], "no admission failed");
  assert.ok(created >= 10);
  t.diagnostic(
    `${created} pods admitted and mutated, ${atSwap} of them before both replicas served the new certificate`,
  );
  const after = await secretData();
  assert.equal(after["ca.crt"], caBefore, "a serving-certificate renewal keeps the CA");
  const renewed = new X509Certificate(after["tls.crt"] ?? "");
  assert.equal(renewed.fingerprint256, (await served(second.port)).fingerprint256);
  assert.notEqual(renewed.fingerprint256, before);
  for (const r of replicas) assert.equal(r.proc.exitStatus, undefined, `${r.proc.name} still runs`);
});

test("when both replicas read no Secret, one create wins (409 AlreadyExists for the other) and both serve it", async () => {
  // The replicas' own code (ManagedTls over the real API server), in this process so that both
  // reads are held until each has seen "no Secret": then both create, and the API server lets one win.
  const name = "raced-tls";
  let waiting = 0;
  let release: () => void = () => undefined;
  const bothRead = new Promise<void>((r) => (release = r));
  const outcomes: string[] = [];
  const held = (o: TlsObjects): TlsObjects => {
    let first = true;
    return {
      ...o,
      async readSecret() {
        const s = await o.readSecret();
        if (first) {
          first = false;
          if (++waiting === 2) release();
          await bothRead;
        }
        return s;
      },
      async createSecret(w) {
        const r = await o.createSecret(w);
        outcomes.push(r);
        return r;
      },
    };
  };
  const pairs = await Promise.all(
    [0, 1].map(() => {
      const objects = kubeTlsObjects(kube.kubeConfig, { namespace: ns, secret: name, webhookConfig: CONFIG });
      const m = new ManagedTls({
        objects: held(objects),
        names: { dnsNames: [`raced.${ns}.svc`], ipAddresses: [] },
        commonName: "raced",
        where: { secret: `${ns}/${name}`, webhookConfig: CONFIG },
        resyncMs: 60_000,
        caPropagationMs: 60_000,
        log: quiet,
      });
      return m.start({ log: quiet }).then((tls) => {
        m.close();
        return tls.pair;
      });
    }),
  );
  assert.deepEqual(outcomes.sort(), ["lost-race", "written"], "both created; one lost with 409");
  const s = await kube.kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name });
  const ca = new X509Certificate(Buffer.from(s.data?.["ca.crt"] ?? "", "base64"));
  for (const p of pairs)
    assert.ok(new X509Certificate(p.cert).verify(ca.publicKey), "served from the winning CA");
});
