/**
 * `irsa init`'s per-distribution output: the kube-apiserver settings of flags.ts written in each
 * distribution's own format, where its nodes keep the keys, and the steps that apply them. Pure:
 * text in, files (relative to the output directory) and steps out.
 */
import { stringify } from "yaml";
import { IrsaError } from "../errors.js";
import { apiServerFlags, type ApiServerFlag } from "./flags.js";

export const DISTROS = [
  "k3s",
  "kubeadm",
  "kind",
  "minikube",
  "rke2",
  "talos",
  "eks-anywhere",
  "charmed",
] as const;
export type Distro = (typeof DISTROS)[number];

interface DistroInfo {
  readonly title: string;
  /** Where the nodes keep sa.key and sa.pub; undefined when the key is given inline or stays the cluster's own. */
  readonly keyDir: string | undefined;
  /** The distribution's own service-account public key on the nodes, still trusted while migrating. */
  readonly ownKey: string | undefined;
  /** Why the format cannot carry a second --service-account-issuer; undefined when it can. */
  readonly oneIssuer?: string;
}

export const DISTRO_INFO: Readonly<Record<Distro, DistroInfo>> = {
  k3s: {
    title: "k3s",
    keyDir: "/var/lib/rancher/k3s/server/irsa",
    ownKey: "/var/lib/rancher/k3s/server/tls/service.key",
  },
  rke2: {
    title: "RKE2",
    keyDir: "/var/lib/rancher/rke2/server/irsa",
    ownKey: "/var/lib/rancher/rke2/server/tls/service.key",
  },
  kubeadm: { title: "kubeadm", keyDir: "/etc/kubernetes/pki/irsa", ownKey: "/etc/kubernetes/pki/sa.pub" },
  kind: { title: "kind", keyDir: "/etc/kubernetes/pki/irsa", ownKey: "/etc/kubernetes/pki/sa.pub" },
  minikube: {
    title: "minikube",
    keyDir: "/var/lib/minikube/certs/irsa",
    ownKey: undefined,
    oneIssuer: "minikube's --extra-config keeps one value per API-server flag",
  },
  talos: {
    title: "Talos Linux",
    keyDir: undefined,
    ownKey: undefined,
    oneIssuer: "Talos's cluster.apiServer.extraArgs holds one value per flag",
  },
  "eks-anywhere": {
    title: "EKS Anywhere",
    keyDir: undefined,
    ownKey: undefined,
    oneIssuer: "EKS Anywhere's spec.podIamConfig.serviceAccountIssuer holds one issuer",
  },
  charmed: {
    title: "Charmed Kubernetes",
    keyDir: "/root/cdk/irsa",
    ownKey: undefined,
    oneIssuer: "the charm's api-extra-args keeps one value per flag",
  },
};

export interface InitRequest {
  readonly distro: Distro;
  readonly issuer: string;
  readonly previousIssuers: readonly string[];
  /** The output directory as an absolute path (kind mounts its keys/ from there). */
  readonly outDir: string;
  /** The signing key's PEM (Talos takes it inline); undefined when only a public key is known. */
  readonly signingKeyPem: string | undefined;
}

export interface RenderedFile {
  /** Relative to the output directory. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface InitPlan {
  /** The API-server flags the files set (what kube-apiserver then runs with). */
  readonly flags: readonly ApiServerFlag[];
  readonly files: readonly RenderedFile[];
  /** What to run, in order, to apply them (the restart included). */
  readonly steps: readonly string[];
}

/** Characters a URI may hold (RFC 3986): no white space or quotes, so every format can carry it. */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/** A value quoted for a POSIX shell. */
export function shQuote(v: string): string {
  return /^[A-Za-z0-9\-._~:/=,@%+]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`;
}

const header = (r: InitRequest, how: string): string =>
  `# irsa init --distro ${r.distro}: IRSA's service-account settings for ${DISTRO_INFO[r.distro].title}.\n# ${how}\n`;

/** k3s and RKE2: a config.yaml.d drop-in; `kube-apiserver-arg+` appends to any list already set. */
function rancher(r: InitRequest, flags: readonly ApiServerFlag[], name: "k3s" | "rke2"): InitPlan {
  const dir = DISTRO_INFO[name].keyDir ?? "";
  const file = `${name}-irsa.yaml`;
  const content =
    header(r, `Install as /etc/rancher/${name}/config.yaml.d/50-irsa.yaml on every server node.`) +
    stringify({ "kube-apiserver-arg+": flags.map((f) => `${f.name}=${f.value}`) });
  const service = name === "k3s" ? "k3s" : "rke2-server";
  return {
    flags,
    files: [{ path: file, content, mode: 0o644 }],
    steps: [
      `on every server node: sudo install -d -m 0700 ${dir}`,
      `sudo install -m 0600 keys/sa.key ${dir}/sa.key && sudo install -m 0644 keys/sa.pub ${dir}/sa.pub`,
      `sudo install -D -m 0644 ${file} /etc/rancher/${name}/config.yaml.d/50-irsa.yaml`,
      `sudo systemctl restart ${service}   # one server node at a time`,
    ],
  };
}

/** kubeadm's v1beta4 extraArgs: a list of name/value pairs, so a flag may repeat. */
const extraArgsList = (flags: readonly ApiServerFlag[]) =>
  flags.map((f) => ({ name: f.name, value: f.value }));

function kubeadm(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  const dir = DISTRO_INFO.kubeadm.keyDir ?? "";
  const content =
    header(
      r,
      "Merge into the cluster's ClusterConfiguration (kubeadm v1beta4, Kubernetes 1.31 or later): apiServer.extraArgs.",
    ) +
    stringify({
      apiVersion: "kubeadm.k8s.io/v1beta4",
      kind: "ClusterConfiguration",
      apiServer: { extraArgs: extraArgsList(flags) },
    });
  return {
    flags,
    files: [{ path: "kubeadm-patch.yaml", content, mode: 0o644 }],
    steps: [
      `on every control-plane node: sudo install -d -m 0700 ${dir}`,
      `sudo install -m 0600 keys/sa.key ${dir}/sa.key && sudo install -m 0644 keys/sa.pub ${dir}/sa.pub`,
      "kubectl -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' > cluster.yaml",
      "add kubeadm-patch.yaml's apiServer.extraArgs entries to cluster.yaml's apiServer.extraArgs",
      "on every control-plane node, one at a time: sudo kubeadm init phase control-plane apiserver --config cluster.yaml   # the kubelet restarts kube-apiserver",
      "once: sudo kubeadm init phase upload-config kubeadm --config cluster.yaml   # upgrades keep the settings",
    ],
  };
}

function kind(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  const dir = DISTRO_INFO.kind.keyDir ?? "";
  const patch = stringify({ kind: "ClusterConfiguration", apiServer: { extraArgs: extraArgsList(flags) } });
  const content =
    header(
      r,
      "A new cluster: kind create cluster --config kind-cluster.yaml (kind node images 1.31 or later).",
    ) +
    stringify({
      kind: "Cluster",
      apiVersion: "kind.x-k8s.io/v1alpha4",
      nodes: [
        {
          role: "control-plane",
          extraMounts: [
            { hostPath: `${r.outDir.replace(/\/+$/, "")}/keys`, containerPath: dir, readOnly: true },
          ],
        },
      ],
      kubeadmConfigPatches: [patch],
    });
  return {
    flags,
    files: [{ path: "kind-cluster.yaml", content, mode: 0o644 }],
    steps: [
      "kind create cluster --config kind-cluster.yaml   # a kind cluster's API-server flags are fixed at creation: delete and recreate an existing one",
    ],
  };
}

function minikube(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  const dir = DISTRO_INFO.minikube.keyDir ?? "";
  const content = [
    "#!/bin/sh",
    header(
      r,
      "Run from this directory once the cluster runs (minikube start): copies the keys in, then restarts with the flags.",
    ).trimEnd(),
    "set -eu",
    `minikube ssh -- sudo install -d -m 0700 ${dir}`,
    `minikube cp keys/sa.key ${dir}/sa.key`,
    `minikube cp keys/sa.pub ${dir}/sa.pub`,
    `minikube start \\\n${flags.map((f) => `  --extra-config=${shQuote(`apiserver.${f.name}=${f.value}`)}`).join(" \\\n")}`,
    "",
  ].join("\n");
  return {
    flags,
    files: [{ path: "minikube.sh", content, mode: 0o755 }],
    steps: ["minikube start   # if the cluster is not running yet", "sh minikube.sh"],
  };
}

function talos(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  if (r.signingKeyPem === undefined) {
    throw new IrsaError(
      "KEY_NOT_FOUND",
      "Talos takes the signing key itself (cluster.serviceAccount.key), but --key holds no private key",
      "give the private key with --key, or leave --key out to generate one",
    );
  }
  const content =
    header(
      r,
      "Apply to every control-plane node: talosctl patch machineconfig --patch @talos-patch.yaml. Holds the private key: keep it secret.",
    ) +
    stringify({
      cluster: {
        serviceAccount: { key: Buffer.from(r.signingKeyPem).toString("base64") },
        apiServer: { extraArgs: Object.fromEntries(flags.map((f) => [f.name, f.value])) },
      },
    });
  return {
    flags,
    files: [{ path: "talos-patch.yaml", content, mode: 0o600 }],
    steps: [
      "talosctl patch machineconfig --nodes <control-plane node IPs> --patch @talos-patch.yaml   # Talos restarts kube-apiserver with it",
    ],
  };
}

function eksAnywhere(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  const content =
    header(
      r,
      "Merge spec.podIamConfig into the cluster spec (EKS Anywhere sets kube-apiserver's --service-account-issuer from it).",
    ) +
    stringify({
      apiVersion: "anywhere.eks.amazonaws.com/v1alpha1",
      kind: "Cluster",
      spec: { podIamConfig: { serviceAccountIssuer: r.issuer } },
    });
  return {
    flags,
    files: [{ path: "eks-anywhere-cluster.yaml", content, mode: 0o644 }],
    steps: [
      "add spec.podIamConfig from eks-anywhere-cluster.yaml to the cluster spec",
      "eksctl anywhere create cluster -f <cluster spec>   # or: eksctl anywhere upgrade cluster -f <cluster spec>",
      "the documents list the key given with --key: it must be the cluster's own /etc/kubernetes/pki/sa.pub (a new cluster: create it, then copy its sa.pub and run irsa init again)",
    ],
  };
}

function charmed(r: InitRequest, flags: readonly ApiServerFlag[]): InitPlan {
  const dir = DISTRO_INFO.charmed.keyDir ?? "";
  const args = flags.map((f) => `${f.name}=${f.value}`).join(" ");
  const content = [
    "#!/bin/sh",
    header(
      r,
      "Run from this directory: sh charmed.sh [unit ...] (default kubernetes-control-plane/0); name every control-plane unit.",
    ).trimEnd(),
    "set -eu",
    'units="${*:-kubernetes-control-plane/0}"',
    "for u in $units; do",
    '  juju scp keys/sa.key keys/sa.pub "$u":/tmp/',
    `  juju ssh "$u" -- 'sudo install -d -m 0700 ${dir} && sudo install -m 0600 /tmp/sa.key ${dir}/sa.key && sudo install -m 0644 /tmp/sa.pub ${dir}/sa.pub && rm -f /tmp/sa.key /tmp/sa.pub'`,
    "done",
    "# Replaces api-extra-args as a whole: add the ones already set (juju config kubernetes-control-plane api-extra-args).",
    `juju config kubernetes-control-plane api-extra-args=${shQuote(args)}`,
    "",
  ].join("\n");
  return {
    flags,
    files: [{ path: "charmed.sh", content, mode: 0o755 }],
    steps: [
      "sh charmed.sh kubernetes-control-plane/0 [...]   # the charm restarts kube-apiserver when api-extra-args changes",
    ],
  };
}

/** The files and steps for `r.distro`; refuses what its format cannot express. */
export function renderInit(r: InitRequest): InitPlan {
  const info = DISTRO_INFO[r.distro];
  for (const url of [r.issuer, ...r.previousIssuers]) {
    if (!URI_CHARS.test(url)) {
      throw new IrsaError(
        "URL_INVALID",
        `"${url}" holds characters a URL may not (white space, quotes, non-ASCII)`,
        "percent-encode them, or choose an issuer URL made of plain ASCII",
      );
    }
  }
  if (r.previousIssuers.length > 0 && info.oneIssuer !== undefined) {
    throw new IrsaError(
      "USAGE",
      `--previous-issuer cannot be kept on ${info.title}: ${info.oneIssuer}`,
      "leave --previous-issuer out (tokens with the old issuer stop working once kube-apiserver restarts; pods get new ones within an hour)",
    );
  }
  const keptKey = r.previousIssuers.length > 0 ? info.ownKey : undefined;
  const flags = apiServerFlags({
    issuer: r.issuer,
    previousIssuers: r.previousIssuers,
    signingKeyFile: info.keyDir === undefined ? undefined : `${info.keyDir}/sa.key`,
    verifyKeyFiles: [
      ...(info.keyDir === undefined ? [] : [`${info.keyDir}/sa.pub`]),
      ...(keptKey === undefined ? [] : [keptKey]),
    ],
  });
  switch (r.distro) {
    case "k3s":
    case "rke2":
      return rancher(r, flags, r.distro);
    case "kubeadm":
      return kubeadm(r, flags);
    case "kind":
      return kind(r, flags);
    case "minikube":
      return minikube(r, flags);
    case "talos":
      return talos(r, flags);
    case "eks-anywhere":
      return eksAnywhere(
        r,
        flags.filter((f) => f.name === "service-account-issuer"),
      );
    case "charmed":
      return charmed(r, flags);
  }
}
