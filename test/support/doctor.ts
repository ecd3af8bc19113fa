/** Builders shared by the doctor's unit tests (doctor.test.ts, doctor-cluster.test.ts). */
import assert from "node:assert/strict";
import { gathered, type DoctorFacts, type Fetch } from "../../src/core/doctor/facts.js";
import type { Finding, Report } from "../../src/core/doctor/report.js";
import { AUD, ISSUER, PROVIDER_ARN, ROLE_ARN, TRUST_POLICY, jwksOf, type SigningKey } from "./sts.js";

const DISCOVERY = JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/openid/v1/jwks` });

/** A document fetched from the issuer over publicly trusted HTTPS, in 12 ms. */
export function doc(
  body: string,
  extra: Partial<{ contentType: string; elapsedMs: number; trust: "public" | "ca-file" }> = {},
): Fetch {
  return {
    ok: true,
    value: {
      url: ISSUER,
      status: 200,
      contentType: "application/json",
      body,
      elapsedMs: 12,
      trust: "public" as const,
      thumbprint: "ab".repeat(20),
      ...extra,
    },
  };
}

/** A check's whole outcome as a user reads it: status, detail, and fix and notes when there. */
export function outcome(r: Report, id: string): Pick<Finding, "status" | "detail" | "fix" | "notes"> {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f !== undefined, `no finding ${id}`);
  return {
    status: f.status,
    detail: f.detail,
    ...(f.fix === undefined ? {} : { fix: f.fix }),
    ...(f.notes === undefined ? {} : { notes: f.notes }),
  };
}

/** The webhook configuration's one webhook in healthy facts: reached by URL, failurePolicy Ignore. */
export const HOOK = {
  name: "pod-identity-webhook.amazonaws.com",
  url: "https://127.0.0.1:9443/mutate",
  service: undefined,
  caBundle: "Q0E=",
  failurePolicy: "Ignore",
  podsCreate: true,
};

/**
 * Facts of a chain where every check passes: the issuer's documents, the cluster (its account,
 * `token` and TokenReview), the webhook, IAM and the exchange, gathered at `now`.
 */
export function healthyFacts(key: SigningKey, token: string, now: number): DoctorFacts {
  return {
    now,
    issuer: ISSUER,
    issuerSource: "--issuer",
    caFile: undefined,
    audience: AUD,
    roleArn: ROLE_ARN,
    roleAnnotation: "eks.amazonaws.com/role-arn",
    serviceAccount: { namespace: "team-a", name: "app" },
    discovery: doc(DISCOVERY),
    jwks: doc(jwksOf(key), { contentType: "application/jwk-set+json" }),
    cluster: {
      server: "https://127.0.0.1:6443",
      discovery: gathered(DISCOVERY),
      jwks: gathered(jwksOf(key)),
      serviceAccount: gathered({
        namespace: "team-a",
        name: "app",
        annotations: { "eks.amazonaws.com/role-arn": ROLE_ARN },
      }),
      token: gathered(token),
      review: gathered({ authenticated: true, error: undefined }),
    },
    webhook: {
      configuration: "pod-identity-webhook",
      webhooks: gathered([HOOK]),
      serving: gathered({
        verified: true,
        verifyError: undefined,
        subject: "CN=webhook",
        notBefore: now - 60,
        notAfter: now + 30 * 86_400,
      }),
      dryRun: gathered({
        containers: [
          {
            name: "app",
            env: {
              AWS_ROLE_ARN: ROLE_ARN,
              AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            },
          },
        ],
        volumes: ["aws-iam-token"],
      }),
    },
    iam: {
      source: "AWS",
      stsConfigFile: undefined,
      providerArn: PROVIDER_ARN,
      provider: gathered({ clientIds: [AUD], thumbprints: [] }),
      nearProviderArn: undefined,
      role: gathered({ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, maxSessionDuration: 3600 }),
    },
    exchange: {
      endpoint: "http://127.0.0.1:8080",
      assumed: gathered({
        assumedRoleArn: "arn:aws:sts::111122223333:assumed-role/app/irsa-doctor",
        expiration: "2026-12-02T09:00:00Z",
      }),
      caller: gathered({
        arn: "arn:aws:sts::111122223333:assumed-role/app/irsa-doctor",
        account: "111122223333",
      }),
    },
    skipped: {},
  };
}
