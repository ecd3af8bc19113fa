/** IAM for IRSA: ARNs, the issuer as IAM takes it, the trust policy and the OIDC provider plan. */
export * from "./arn.js";
export * from "./provider.js";
export * from "./trust-policy.js";
export * from "./terraform.js";
export * from "./role.js";
