/**
 * The OpenID discovery document, byte-identical to what kube-apiserver serves at
 * /.well-known/openid-configuration, and where kube-apiserver serves both documents. Pure.
 */
import { goJson } from "../go/json.js";
import type { KeyAlgorithm, PublicKeyInfo } from "./keys.js";

/** Sorted unique algorithms of the keys, as id_token_signing_alg_values_supported. */
export function signingAlgorithms(keys: readonly PublicKeyInfo[]): KeyAlgorithm[] {
  return [...new Set(keys.map((k) => k.alg))].sort();
}

/** The discovery document bytes. Callers validate the URLs first (url.ts). */
export function discoveryDocument(issuer: string, jwksUri: string, keys: readonly PublicKeyInfo[]): string {
  return goJson({
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: signingAlgorithms(keys),
  });
}

/** Where kube-apiserver serves each document, relative to the issuer. */
export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/openid/v1/jwks";
