/**
 * The API server's own discovery documents (/.well-known/openid-configuration, /openid/v1/jwks),
 * fetched with the kubeconfig's credentials and CA. Reading them needs the
 * system:service-account-issuer-discovery ClusterRole (bound to all service accounts by default).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { request, type RequestOptions } from "node:https";
import { IrsaError } from "../../core/errors.js";

export interface FetchedText {
  readonly status: number;
  readonly text: string;
}

const TIMEOUT_MS = 10_000;

/** GETs `path` from the current cluster; rejects SOURCE_UNREACHABLE on a network or HTTP error. */
export async function kubeGet(kc: KubeConfig, path: string, timeoutMs = TIMEOUT_MS): Promise<string> {
  const server = kc.getCurrentCluster()?.server ?? "";
  const url = new URL(`${server.replace(/\/+$/, "")}${path}`);
  const opts: RequestOptions = {
    method: "GET",
    headers: { accept: "application/jwk-set+json, application/json" },
  };
  await kc.applyToHTTPSOptions(opts);
  const where = `${url.origin}${path}`;
  const res = await new Promise<FetchedText>((resolve, reject) => {
    const req = request(url, { ...opts, timeout: timeoutMs }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => {
        resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      r.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  }).catch((e: unknown) => {
    throw new IrsaError(
      "SOURCE_UNREACHABLE",
      `cannot reach the API server at ${where}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "check --kubeconfig and that kube-apiserver is running",
      { cause: e },
    );
  });
  if (res.status === 401 || res.status === 403) {
    throw new IrsaError(
      "SOURCE_UNREACHABLE",
      `the API server refused ${where} (HTTP ${res.status})`,
      "bind the ClusterRole system:service-account-issuer-discovery to the identity in --kubeconfig (the chart's issuer binding, deploy/issuer.yaml)",
    );
  }
  if (res.status !== 200) {
    throw new IrsaError(
      "SOURCE_UNREACHABLE",
      `the API server answered ${where} with HTTP ${res.status}: ${res.text.slice(0, 200)}`,
      "check that kube-apiserver runs with --service-account-issuer and --service-account-key-file",
    );
  }
  return res.text;
}
