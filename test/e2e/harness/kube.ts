/** The local stack's control plane (src/stack/kube.ts), with the binaries the peer build scripts built. */
import { startKube as startStackKube, type Kube, type KubeOptions } from "../../../src/stack/kube.js";
import { etcdBin, kubeApiserverBin } from "./peers.js";

export type { Kube, KubeOptions };

export async function startKube(opts: KubeOptions = {}): Promise<Kube> {
  return startStackKube({
    ...opts,
    peers: { kubeApiserver: kubeApiserverBin(), etcd: etcdBin(), ...opts.peers },
  });
}
