/**
 * The facts doctor's checks read, gathered by adapters (HTTPS, Kubernetes, AWS) and passed in as
 * plain values. A fact that could not be gathered carries the error; a part that was not asked for
 * (no --kubeconfig, no AWS credentials) is undefined, with the reason in `skipped`. Pure types.
 */
import type { TrustPolicy } from "../trust-policy/policy.js";
import type { Group } from "./report.js";

export type Gathered<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function gathered<T>(value: T): Gathered<T> {
  return { ok: true, value };
}

export function failed<T>(error: string): Gathered<T> {
  return { ok: false, error };
}

/** One document fetched over HTTPS as AWS STS fetches it (no credentials, no redirects). */
export interface HttpDocument {
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly elapsedMs: number;
  /** Who vouched for the certificate: the public CAs, or only the CA of --ca-file. */
  readonly trust: "public" | "ca-file";
  /** IAM's thumbprint: SHA-1 (hex) of the last certificate the server sends. */
  readonly thumbprint: string | undefined;
}

/** A fetch that failed: `tls` when the certificate was not trusted, else the network or HTTP. */
export interface FetchFailure {
  readonly kind: "tls" | "network" | "http";
  readonly message: string;
  readonly status?: number;
}

export type Fetch =
  { readonly ok: true; readonly value: HttpDocument } | { readonly ok: false; readonly error: FetchFailure };

export interface ServiceAccountFacts {
  readonly namespace: string;
  readonly name: string;
  /** undefined: the account does not exist. */
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

export interface TokenReviewFacts {
  readonly authenticated: boolean;
  readonly error: string | undefined;
}

export interface ClusterFacts {
  /** The API server's URL, from the kubeconfig. */
  readonly server: string;
  /** The API server's own discovery document and JWKS, read through the kubeconfig. */
  readonly discovery: Gathered<string>;
  readonly jwks: Gathered<string>;
  /** undefined: no --service-account. */
  readonly serviceAccount: Gathered<ServiceAccountFacts> | undefined;
  /** A TokenRequest for the account with the webhook's audience. */
  readonly token: Gathered<string> | undefined;
  /** A TokenReview of that token against the API server's own audiences (--api-audiences). */
  readonly review: Gathered<TokenReviewFacts> | undefined;
}

export interface WebhookEntry {
  readonly name: string;
  readonly url: string | undefined;
  readonly service: string | undefined;
  readonly caBundle: string | undefined;
  readonly failurePolicy: string | undefined;
  /** Its rules send pod CREATE to it. */
  readonly podsCreate: boolean;
}

export interface ServingFacts {
  /** The serving certificate chains to the caBundle (and names the host). */
  readonly verified: boolean;
  readonly verifyError: string | undefined;
  readonly subject: string;
  /** Seconds since the epoch. */
  readonly notAfter: number;
  readonly notBefore: number;
}

export interface DryRunFacts {
  /** Env var names and values of each container of the pod as admitted. */
  readonly containers: readonly { readonly name: string; readonly env: Readonly<Record<string, string>> }[];
  readonly volumes: readonly string[];
}

export interface WebhookFacts {
  readonly configuration: string;
  /** undefined value: no MutatingWebhookConfiguration of that name. */
  readonly webhooks: Gathered<readonly WebhookEntry[] | undefined>;
  /** A TLS handshake with the webhook's URL trusting only its caBundle; undefined: not reachable from here. */
  readonly serving: Gathered<ServingFacts> | undefined;
  /** A server-side dry-run create of a pod for the account. */
  readonly dryRun: Gathered<DryRunFacts> | undefined;
}

export interface ProviderFacts {
  readonly clientIds: readonly string[];
  /** undefined: this IAM does not use thumbprints (the local STS trusts its caFile). */
  readonly thumbprints: readonly string[] | undefined;
}

export interface RoleFacts {
  readonly arn: string;
  /** The document as IAM returns it, or already parsed (the local STS's config). */
  readonly trustPolicy: unknown;
  readonly parsedTrustPolicy?: TrustPolicy;
  /** The file the local STS's config reads the trust policy from (its trustPolicyFile), if any. */
  readonly trustPolicyFile?: string;
  readonly maxSessionDuration: number | undefined;
}

export interface IamFacts {
  /** Where IAM was asked: "AWS", the --endpoint-url, or "the STS config FILE". */
  readonly source: string;
  /** The local STS's config file when it is IAM (--sts-config): fixes edit it, not AWS. */
  readonly stsConfigFile: string | undefined;
  readonly providerArn: string;
  /** undefined value: no such provider. */
  readonly provider: Gathered<ProviderFacts | undefined>;
  /** A provider whose URL differs only in a trailing slash, when `provider` is missing. */
  readonly nearProviderArn: string | undefined;
  /** undefined value: no such role. */
  readonly role: Gathered<RoleFacts | undefined>;
}

export interface ExchangeFacts {
  readonly endpoint: string;
  readonly assumed: Gathered<{ readonly assumedRoleArn: string; readonly expiration: string }>;
  readonly caller: Gathered<{ readonly arn: string; readonly account: string }> | undefined;
}

export interface DoctorFacts {
  /** Seconds since the epoch. */
  readonly now: number;
  /** The issuer checked: --issuer, else the API server's. */
  readonly issuer: string | undefined;
  /** Where the issuer came from, for messages ("--issuer", "the API server"). */
  readonly issuerSource: string;
  readonly caFile: string | undefined;
  /** The audience the webhook injects for the account (its annotation, else --audience). */
  readonly audience: string;
  /** The role to check: --role-arn, else the account's role-arn annotation. */
  readonly roleArn: string | undefined;
  /** The role-arn annotation's key, for messages and fixes. */
  readonly roleAnnotation: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string } | undefined;
  readonly discovery: Fetch | undefined;
  readonly jwks: Fetch | undefined;
  readonly cluster: ClusterFacts | undefined;
  readonly webhook: WebhookFacts | undefined;
  readonly iam: IamFacts | undefined;
  readonly exchange: ExchangeFacts | undefined;
  /** Why a group's facts were not gathered (no --kubeconfig, no AWS credentials, ...). */
  readonly skipped: Partial<Readonly<Record<Group, string>>>;
}

/**
 * What a running stack (the local one, `irsa up`) tells doctor about itself: doctor checks every
 * group from the stack's own parts. The stack and doctor are separate deployables, so the shape
 * lives here, where both may import it.
 */
export interface StackUnderTest {
  readonly issuer: string;
  readonly caFile: string;
  readonly kubeconfig: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  readonly webhookConfiguration: string;
  /** The local STS: its config stands in for IAM, and its endpoint for AWS STS. */
  readonly stsConfig: string;
  readonly stsEndpoint: string;
}
