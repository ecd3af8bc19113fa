/**
 * Reads the kube-apiserver flags back out of each file `irsa init` writes, in that distribution's
 * format, independently of the renderer: YAML documents through the yaml package, the shell
 * scripts by their command lines. What a distribution adds itself (Talos's key file flags from
 * its inline key) is added as that distribution does.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface Flag {
  readonly name: string;
  readonly value: string;
}

const split = (arg: string): Flag => {
  const i = arg.indexOf("=");
  return { name: arg.slice(0, i), value: arg.slice(i + 1) };
};

/** Undoes the shell's single quotes ('...' and '\'' inside), as sh reads a word. */
function unquote(word: string): string {
  return word.replace(/'((?:[^']|'\\'')*)'/g, (_m, inner: string) => inner.replaceAll("'\\''", "'"));
}

type Tree = Record<string, unknown>;
const yamlOf = (file: string): Tree => parse(readFileSync(file, "utf8")) as Tree;
const listArgs = (extraArgs: unknown): Flag[] =>
  (extraArgs as { name: string; value: string }[]).map((a) => ({ ...a }));

/** The flags the distribution's file gives kube-apiserver, as the distribution would pass them. */
export function flagsFromInitOutput(distro: string, out: string): Flag[] {
  switch (distro) {
    case "k3s":
    case "rke2":
      return (yamlOf(join(out, `${distro}-irsa.yaml`))["kube-apiserver-arg+"] as string[]).map(split);
    case "kubeadm": {
      const cfg = yamlOf(join(out, "kubeadm-patch.yaml")) as { apiServer: { extraArgs: unknown } };
      return listArgs(cfg.apiServer.extraArgs);
    }
    case "kind": {
      const cluster = yamlOf(join(out, "kind-cluster.yaml")) as { kubeadmConfigPatches: string[] };
      const patch = parse(cluster.kubeadmConfigPatches[0] ?? "") as { apiServer: { extraArgs: unknown } };
      return listArgs(patch.apiServer.extraArgs);
    }
    case "minikube": {
      const script = readFileSync(join(out, "minikube.sh"), "utf8");
      return [...script.matchAll(/--extra-config=(\S+)/g)].map((m) => {
        const arg = unquote(m[1] ?? "");
        if (!arg.startsWith("apiserver.")) throw new Error(`not an API-server setting: ${arg}`);
        return split(arg.slice("apiserver.".length));
      });
    }
    case "talos": {
      const patch = yamlOf(join(out, "talos-patch.yaml")) as {
        cluster: { serviceAccount: { key: string }; apiServer: { extraArgs: Record<string, string> } };
      };
      // Talos writes cluster.serviceAccount.key to a file and points both key flags at it.
      const keyFile = join(out, "talos-service-account.key");
      writeFileSync(keyFile, Buffer.from(patch.cluster.serviceAccount.key, "base64"), { mode: 0o600 });
      return [
        ...Object.entries(patch.cluster.apiServer.extraArgs).map(([name, value]) => ({ name, value })),
        { name: "service-account-signing-key-file", value: keyFile },
        { name: "service-account-key-file", value: keyFile },
      ];
    }
    case "eks-anywhere": {
      const spec = yamlOf(join(out, "eks-anywhere-cluster.yaml")) as {
        spec: { podIamConfig: { serviceAccountIssuer: string } };
      };
      return [{ name: "service-account-issuer", value: spec.spec.podIamConfig.serviceAccountIssuer }];
    }
    case "charmed": {
      const script = readFileSync(join(out, "charmed.sh"), "utf8");
      const line = /^juju config kubernetes-control-plane api-extra-args=(.+)$/m.exec(script)?.[1];
      if (line === undefined) throw new Error("charmed.sh sets no api-extra-args");
      return unquote(line).split(" ").map(split);
    }
    default:
      throw new Error(`no reader for ${distro}`);
  }
}
