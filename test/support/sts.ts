/** Tokens and an STS config for tests: real keys, tokens signed (and forged) with jose. */
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";
import { createPublicKey, type KeyObject } from "node:crypto";
import { parseStsConfig, type StsConfig } from "../../src/core/sts/config.js";
import type { KeyResolver } from "../../src/core/sts/check.js";
import { parseJwks, type KeySet } from "../../src/core/sts/keys.js";

export const ISSUER = "https://oidc.example.com/cluster-1";
export const HOST_PATH = "oidc.example.com/cluster-1";
export const ACCOUNT = "111122223333";
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app`;
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST_PATH}`;
export const SUB = "system:serviceaccount:team-a:app";
export const AUD = "sts.amazonaws.com";

export interface SigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: Record<string, unknown>;
  readonly publicKeyObject: KeyObject;
}

export async function signingKey(alg = "RS256", kid = `kid-${alg}`): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: "sig", alg };
  return {
    alg,
    kid,
    privateKey,
    publicKey,
    jwk,
    publicKeyObject: createPublicKey({ key: jwk, format: "jwk" }),
  };
}

export function jwksOf(...keys: SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) });
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A token as kube-apiserver issues one for the IRSA audience, with overrides. */
export async function signToken(
  key: SigningKey,
  claims: JWTPayload & Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = nowSeconds();
  return new SignJWT({ iss: ISSUER, sub: SUB, aud: [AUD], iat: now, nbf: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** A JWT with any header and payload and the given signature bytes (for forgeries). */
export function rawToken(header: unknown, payload: unknown, signature = ""): string {
  const b = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b(header)}.${b(payload)}.${signature}`;
}

export const TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "AllowApp",
      Effect: "Allow",
      Principal: { Federated: PROVIDER_ARN },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${HOST_PATH}:sub`]: SUB, [`${HOST_PATH}:aud`]: AUD } },
    },
  ],
};

export function stsConfig(trustPolicy: unknown = TRUST_POLICY, extraRoles: unknown[] = []): StsConfig {
  return parseStsConfig({
    providers: [{ url: ISSUER, clientIds: [AUD] }],
    roles: [{ arn: ROLE_ARN, trustPolicy, maxSessionDuration: 7200 }, ...extraRoles],
  });
}

/** Keys from a JWKS text, for every provider (what a jwksFile gives). */
export function staticResolver(jwks: string): KeyResolver & { set: KeySet } {
  const set = parseJwks(jwks);
  return { set, keysFor: () => Promise.resolve({ ok: true, keys: set.keys }) };
}
