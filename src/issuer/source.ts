/**
 * Where the issuer reads the documents: the API server itself, or key files with an issuer URL.
 * Each read returns checked documents or throws (SOURCE_UNREACHABLE, SOURCE_INVALID, KEY_*).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { parseDiscovery, parseJwks, type JwkObject, type SourceDiscovery } from "../core/issuer/documents.js";
import { discoveryDocument, DISCOVERY_PATH, JWKS_PATH } from "../core/oidc/discovery.js";
import { jwksDocument } from "../core/oidc/jwks.js";
import type { PublicKeyInfo } from "../core/oidc/keys.js";
import { checkIssuerUrl, defaultJwksUri } from "../core/oidc/url.js";
import { readKeyFile } from "../adapters/files.js";
import { kubeGet } from "../adapters/kubernetes/oidc.js";

export interface SourceSnapshot {
  readonly discovery: SourceDiscovery;
  readonly keys: readonly JwkObject[];
}

export interface Source {
  /** For logs: "kube https://10.0.0.1:6443" or "keys sa.pub". */
  readonly name: string;
  read(): Promise<SourceSnapshot>;
}

export function kubeSource(kc: KubeConfig): Source {
  const server = kc.getCurrentCluster()?.server ?? "";
  return {
    name: `kube ${server}`,
    async read() {
      // The JWKS first: a discovery document is only useful with its keys.
      const jwks = await kubeGet(kc, JWKS_PATH);
      const discovery = await kubeGet(kc, DISCOVERY_PATH);
      return {
        keys: parseJwks(jwks, `${server}${JWKS_PATH}`),
        discovery: parseDiscovery(discovery, `${server}${DISCOVERY_PATH}`),
      };
    },
  };
}

/** PEM key files (re-read on every read, so replacing a file rotates) and the issuer URL. */
export function keyFileSource(files: readonly string[], issuer: string): Source {
  const url = checkIssuerUrl(issuer).url;
  return {
    name: `keys ${files.join(", ")}`,
    async read() {
      const keys: PublicKeyInfo[] = [];
      for (const f of files) for (const k of await readKeyFile(f)) keys.push(k.publicKey);
      return {
        keys: parseJwks(jwksDocument(keys), files.join(", ")),
        discovery: parseDiscovery(discoveryDocument(url, defaultJwksUri(url), keys), "--issuer"),
      };
    },
  };
}
