/**
 * Every `irsa` subcommand: its words and one-line summary here, its module loaded only when it
 * runs (or prints its help), so `irsa --help` and the small commands never load the Kubernetes
 * client, the AWS SDK or a server. New commands register here.
 */
import type { CommandEntry } from "./command.js";

export const COMMANDS: readonly CommandEntry[] = [
  {
    path: ["keys", "generate"],
    summary: "generate a service-account signing key pair (sa.key, sa.pub)",
    load: async () => (await import("./commands/keys.js")).keysGenerate,
  },
  {
    path: ["keys", "kid"],
    summary: "print the key id kube-apiserver puts in tokens signed with a key",
    load: async () => (await import("./commands/keys.js")).keysKid,
  },
  {
    path: ["jwks"],
    summary: "print the JWKS kube-apiserver serves at /openid/v1/jwks for these keys",
    load: async () => (await import("./commands/documents.js")).jwks,
  },
  {
    path: ["discovery"],
    summary: "print the OpenID discovery document for an issuer and keys",
    load: async () => (await import("./commands/documents.js")).discovery,
  },
  {
    path: ["mutate"],
    summary: "print a Pod as the webhook mutates it for its ServiceAccount, or the JSON Patch",
    load: async () => (await import("./commands/mutate.js")).mutate,
  },
  {
    path: ["webhook"],
    summary: "run the pod identity admission webhook (drop-in for amazon-eks-pod-identity-webhook)",
    load: async () => (await import("./commands/webhook.js")).webhook,
  },
  {
    path: ["issuer", "sync"],
    summary: "publish the discovery document and JWKS to S3 or a directory, keeping rotated keys",
    load: async () => (await import("./commands/issuer.js")).issuerSync,
  },
  {
    path: ["issuer", "serve"],
    summary: "serve the discovery document and JWKS over HTTPS, kept in sync with the cluster",
    load: async () => (await import("./commands/issuer.js")).issuerServe,
  },
  {
    path: ["issuer", "print-bucket-policy"],
    summary: "print the S3 bucket policy that makes exactly the two issuer documents public",
    load: async () => (await import("./commands/issuer.js")).issuerPrintBucketPolicy,
  },
  {
    path: ["sts", "serve"],
    summary: "run a local AWS STS that checks web identity tokens and trust policies as AWS does",
    load: async () => (await import("./commands/sts.js")).stsServe,
  },
  {
    path: ["sts", "check"],
    summary: "check a token against a role's trust policy offline, printing every check",
    load: async () => (await import("./commands/sts.js")).stsCheck,
  },
  {
    path: ["credentials"],
    summary: "exchange a web identity token for credentials, as credential_process JSON (cached)",
    load: async () => (await import("./commands/credentials.js")).credentials,
  },
  {
    path: ["iam", "trust-policy"],
    summary: "print the least-privilege trust policy of an IRSA role (JSON or Terraform)",
    load: async () => (await import("./commands/iam.js")).iamTrustPolicy,
  },
  {
    path: ["iam", "thumbprint"],
    summary: "print the SHA-1 thumbprint IAM wants for an issuer's OIDC provider",
    load: async () => (await import("./commands/iam.js")).iamThumbprint,
  },
  {
    path: ["iam", "provider", "apply"],
    summary: "create the issuer's IAM OIDC provider, or add the audiences and thumbprints it lacks",
    load: async () => (await import("./commands/iam-apply.js")).iamProviderApply,
  },
  {
    path: ["iam", "role", "apply"],
    summary: "create or update an IRSA role with the least-privilege trust policy and its policies",
    load: async () => (await import("./commands/iam-apply.js")).iamRoleApply,
  },
  {
    path: ["doctor"],
    summary: "check the whole IRSA chain the way AWS STS will, and say how to fix each broken link",
    load: async () => (await import("./commands/doctor.js")).doctor,
  },
  {
    path: ["init"],
    summary: "write a cluster's keys, issuer documents and API-server settings for its distribution",
    load: async () => (await import("./commands/init.js")).init,
  },
  {
    path: ["up"],
    summary: "run the whole IRSA chain on loopback (kube-apiserver, webhook, STS) until Ctrl-C",
    load: async () => (await import("./commands/up.js")).up,
  },
];
