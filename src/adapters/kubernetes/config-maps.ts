/** One ConfigMap's data through @kubernetes/client-node: undefined when it does not exist. */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

export type ConfigMapReader = () => Promise<Readonly<Record<string, string>> | undefined>;

export function kubeConfigMapReader(kc: KubeConfig, namespace: string, name: string): ConfigMapReader {
  const api = kc.makeApiClient(CoreV1Api);
  return async () => {
    try {
      const cm = await api.readNamespacedConfigMap({ namespace, name });
      return cm.data ?? {};
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 404) return undefined;
      throw e;
    }
  };
}
