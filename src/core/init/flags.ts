/**
 * The kube-apiserver settings `irsa init` asks for, as an ordered list of flags: what each
 * distribution's renderer (distros.ts) writes in its own format. Pure.
 */
import { IrsaError } from "../errors.js";
import { JWKS_PATH } from "../oidc/discovery.js";
import { checkIssuerUrl } from "../oidc/url.js";

/** One kube-apiserver flag, without its leading "--"; a name may repeat (--service-account-issuer). */
export interface ApiServerFlag {
  readonly name: string;
  readonly value: string;
}

export interface ServiceAccountSettings {
  /** The new issuer: tokens are signed with it (the first --service-account-issuer). */
  readonly issuer: string;
  /** Issuers whose tokens stay valid during the migration (further --service-account-issuer flags). */
  readonly previousIssuers: readonly string[];
  /** Where the signing key lives on the control-plane nodes; undefined when the distribution keeps its own key. */
  readonly signingKeyFile: string | undefined;
  /** Public keys kube-apiserver verifies with, on the nodes: the new key's, then any kept ones. */
  readonly verifyKeyFiles: readonly string[];
}

/** Checks the issuers: each a valid https issuer, none repeated. Returns the URL warnings. */
export function checkIssuers(issuer: string, previous: readonly string[]): string[] {
  const warnings = [...checkIssuerUrl(issuer).warnings];
  const seen = new Set([issuer]);
  for (const p of previous) {
    warnings.push(...checkIssuerUrl(p, "--previous-issuer").warnings.map((w) => `previous ${w}`));
    if (seen.has(p)) {
      throw new IrsaError(
        "USAGE",
        `--previous-issuer "${p}" is given twice, or equals --issuer`,
        "give the cluster's current issuer (kubectl get --raw /.well-known/openid-configuration) once, and the new one as --issuer",
      );
    }
    seen.add(p);
  }
  return warnings;
}

/**
 * The flags, in order: the new issuer first (kube-apiserver signs with the first), the previous
 * ones, the JWKS URI (so kube-apiserver's discovery document equals the published one, byte for
 * byte), the signing key and the verification keys. --api-audiences is left alone: its default
 * (every issuer) or the distribution's own value keeps in-cluster clients' tokens valid.
 */
export function apiServerFlags(s: ServiceAccountSettings): ApiServerFlag[] {
  return [
    { name: "service-account-issuer", value: s.issuer },
    ...s.previousIssuers.map((value) => ({ name: "service-account-issuer", value })),
    { name: "service-account-jwks-uri", value: `${s.issuer.replace(/\/+$/, "")}${JWKS_PATH}` },
    ...(s.signingKeyFile === undefined
      ? []
      : [{ name: "service-account-signing-key-file", value: s.signingKeyFile }]),
    ...s.verifyKeyFiles.map((value) => ({ name: "service-account-key-file", value })),
  ];
}

/** `--name=value` for each flag. */
export function flagArgs(flags: readonly ApiServerFlag[]): string[] {
  return flags.map((f) => `--${f.name}=${f.value}`);
}
