/**
 * A real control plane on loopback: etcd and kube-apiserver with free ports, a fresh temp dir, our
 * own CA, RBAC, an admin client certificate (O=system:masters) and service-account keys made by
 * `irsa keys generate`. No controller-manager, scheduler or kubelet runs: see cluster.ts for what
 * that means for namespaces and pods. restart() brings kube-apiserver back on the same port and
 * issuer with other service-account keys (a signing-key rotation); etcd keeps running.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createCa, issueCert, type Ca, type Cert } from "../adapters/pki/index.js";
import { httpCall, type HttpOptions, type HttpResponse } from "./http.js";
import { irsaOk } from "./irsa-cli.js";
import { locatePeer, type PeerPaths } from "./peers.js";
import { freePort, onCleanup, startProcess, tempDir, waitUntil, type ManagedProcess } from "./processes.js";

export interface KubeOptions {
  /** Service-account signing key type (irsa keys generate --type): rsa → RS256, ec → ES256 (P-256). */
  readonly keyType?: "rsa" | "ec";
  /** Extra kube-apiserver flags, e.g. "--feature-gates=…". */
  readonly extraArgs?: readonly string[];
  /** --api-audiences; defaults to the issuer. */
  readonly apiAudiences?: readonly string[];
  /** Readiness timeout for each process; default 90 s (2 vCPUs, cold page cache). */
  readonly timeoutMs?: number;
  /** The binaries; default from IRSA_KUBE_APISERVER and IRSA_ETCD (locatePeer). */
  readonly peers?: Partial<Pick<PeerPaths, "kubeApiserver" | "etcd">>;
  /** kube-apiserver's --secure-port; a free port by default. */
  readonly port?: number;
  /** --service-account-issuer; the API server's URL by default. */
  readonly issuer?: string;
  /**
   * The service-account flags exactly as given (issuer, key files, JWKS URI), instead of the
   * stack's own (its `irsa keys generate` key, `issuer`, `apiAudiences`): `irsa init`'s output.
   */
  readonly serviceAccountArgs?: readonly string[];
}

export interface RestartOptions {
  /** --service-account-signing-key-file: the new signing key (PEM private key). */
  readonly signingKey: string;
  /**
   * --service-account-key-file: public (or private) key files kube-apiserver verifies with and
   * serves in its JWKS, besides the signing key's own (e.g. the previous key during a rotation).
   */
  readonly extraPublicKeys?: readonly string[];
  /** The signing key's public half; derived by kube-apiserver from `signingKey` when omitted. */
  readonly publicKey?: string;
}

export interface Kube {
  /** https://127.0.0.1:<port>: the API server and also the service-account issuer. */
  readonly url: string;
  readonly port: number;
  /** --service-account-issuer (equal to url). */
  readonly issuer: string;
  /** The temp dir: pki/, sa/, etcd/ and the logs. */
  readonly dir: string;
  readonly ca: Ca;
  readonly admin: Cert;
  /** The service-account key pair written by `irsa keys generate`. */
  readonly saKeyFile: string;
  readonly saPubFile: string;
  /** Admin client config for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** The same as a kubeconfig file (for kubectl or a child process). */
  readonly kubeconfigFile: string;
  readonly etcd: ManagedProcess;
  /** The running kube-apiserver (a new process after restart()). */
  readonly apiserver: ManagedProcess;
  /** Milliseconds from spawn to ready. */
  readonly timings: { readonly etcdMs: number; readonly apiserverMs: number };
  /** An HTTPS request to the API server trusting our CA; as admin unless `anonymous`. */
  request(path: string, opts?: HttpOptions & { anonymous?: boolean }): Promise<HttpResponse>;
  /**
   * Stops kube-apiserver and starts it again on the same port and issuer, with these
   * service-account keys; resolves once /readyz answers. Resolves to the start-up time in ms.
   */
  restart(keys: RestartOptions): Promise<number>;
  /** Stops kube-apiserver, then etcd. Also done by stopAll(). */
  stop(): Promise<void>;
  /**
   * Stops kube-apiserver only (SIGKILL at once with `kill`, else SIGTERM), leaving etcd and its data:
   * an API server outage. `apiserver` then names the stopped process until startApiserver().
   */
  stopApiserver(opts?: { readonly kill?: boolean }): Promise<void>;
  /** Starts kube-apiserver again with the same flags, port and data; resolves once /readyz is 200. */
  startApiserver(): Promise<void>;
}

export async function startKube(opts: KubeOptions = {}): Promise<Kube> {
  const apiserverPath = opts.peers?.kubeApiserver ?? locatePeer("kubeApiserver");
  const etcdPath = opts.peers?.etcd ?? locatePeer("etcd");
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const dir = await tempDir("kube");
  const pki = join(dir, "pki");
  const saDir = join(dir, "sa");
  await irsaOk(["keys", "generate", "--out", saDir, "--type", opts.keyType ?? "rsa"]);
  await mkdir(pki);
  const ca = await createCa(pki);
  const serving = await issueCert(ca, {
    name: "apiserver",
    commonName: "kube-apiserver",
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    ipAddresses: ["127.0.0.1", "10.0.0.1"],
    usage: "server",
  });
  const admin = await issueCert(ca, {
    name: "admin",
    commonName: "irsa-stack-admin",
    organizations: ["system:masters"],
    usage: "client",
  });

  const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
  const port = opts.port ?? (await freePort());
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const t0 = Date.now();
  const etcd = startProcess({
    name: "etcd",
    command: etcdPath,
    logDir: dir,
    args: [
      "--name=stack",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=stack=${peerUrl}`,
      "--log-level=warn",
      "--unsafe-no-fsync",
    ],
  });
  onCleanup(() => etcd.stop());
  await waitUntil(
    "etcd",
    async () => {
      const r = await httpCall(`${etcdUrl}/health`, { timeoutMs: 2000 });
      return r.status === 200 && r.text.includes('"health":"true"');
    },
    { proc: etcd, timeoutMs },
  );
  const etcdMs = Date.now() - t0;

  const url = `https://127.0.0.1:${port}`;
  const issuer = opts.issuer ?? url;
  const launch = async (keys: RestartOptions): Promise<{ proc: ManagedProcess; ms: number }> => {
    const t = Date.now();
    const verifyKeys = [keys.publicKey ?? keys.signingKey, ...(keys.extraPublicKeys ?? [])];
    const proc = startProcess({
      name: "kube-apiserver",
      command: apiserverPath,
      logDir: dir,
      args: [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${port}`,
        `--cert-dir=${pki}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        "--authorization-mode=RBAC",
        ...(opts.serviceAccountArgs ?? [
          `--service-account-issuer=${issuer}`,
          ...verifyKeys.map((f) => `--service-account-key-file=${f}`),
          `--service-account-signing-key-file=${keys.signingKey}`,
          `--api-audiences=${(opts.apiAudiences ?? [issuer]).join(",")}`,
        ]),
        "--service-cluster-ip-range=10.0.0.0/24",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        ...(opts.extraArgs ?? []),
      ],
    });
    onCleanup(() => proc.stop());
    await waitUntil(
      "kube-apiserver /readyz",
      async () => {
        const r = await httpCall(`${url}/readyz`, { ca: ca.certPem, timeoutMs: 5000 });
        return r.status === 200;
      },
      { proc, timeoutMs },
    );
    return { proc, ms: Date.now() - t };
  };
  let keysInUse: RestartOptions = { signingKey: join(saDir, "sa.key"), publicKey: join(saDir, "sa.pub") };
  const first = await launch(keysInUse);
  let apiserver = first.proc;
  const apiserverMs = first.ms;

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "irsa-stack", server: url, caFile: ca.certFile, skipTLSVerify: false }],
    users: [{ name: "admin", certFile: admin.certFile, keyFile: admin.keyFile }],
    contexts: [{ name: "irsa-stack", cluster: "irsa-stack", user: "admin" }],
    currentContext: "irsa-stack",
  });
  const kubeconfigFile = join(dir, "kubeconfig");
  await writeFile(kubeconfigFile, kubeConfig.exportConfig());

  return {
    url,
    port,
    issuer,
    dir,
    ca,
    admin,
    saKeyFile: join(saDir, "sa.key"),
    saPubFile: join(saDir, "sa.pub"),
    kubeConfig,
    kubeconfigFile,
    etcd,
    get apiserver() {
      return apiserver;
    },
    timings: { etcdMs, apiserverMs },
    request(path, o = {}) {
      const auth = o.anonymous === true ? {} : { cert: admin.certPem, key: admin.keyPem };
      return httpCall(`${url}${path}`, { ca: ca.certPem, ...auth, ...o });
    },
    async restart(keys) {
      await apiserver.stop();
      keysInUse = keys;
      const next = await launch(keys);
      apiserver = next.proc;
      return next.ms;
    },
    async stop() {
      await apiserver.stop();
      await etcd.stop();
    },
    async stopApiserver(o = {}) {
      if (o.kill === true && apiserver.exitStatus === undefined) process.kill(apiserver.pid, "SIGKILL");
      await apiserver.stop();
    },
    async startApiserver() {
      if (apiserver.exitStatus === undefined)
        throw new Error("kube-apiserver is running: stopApiserver() first");
      apiserver = (await launch(keysInUse)).proc;
    },
  };
}
