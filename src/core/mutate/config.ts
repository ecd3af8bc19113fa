/**
 * The webhook's settings, one field per flag of the pod-identity webhook it replaces (same names,
 * same defaults), and the fixed names the mutation uses. Pure data: no I/O.
 */
/** Token lifetime when nothing sets one: 24 h, the most EKS allows. */
export const DEFAULT_TOKEN_EXPIRATION = 86400;
/** Lower end of the jitter applied to the default lifetime in container-credentials mode: 22 h. */
export const DEFAULT_MIN_TOKEN_EXPIRATION = 79200;
/** kube-apiserver refuses projected tokens shorter than 10 minutes; shorter requests are raised to this. */
export const MIN_TOKEN_EXPIRATION = 600;
/**
 * kube-apiserver refuses a pod whose projected token asks for more than 2^32 s ("may not specify a
 * duration larger than 2^32 seconds"); longer requests are lowered to this. (Upstream passes them
 * through, so a large token-expiration annotation makes the pod impossible to create.)
 */
export const MAX_TOKEN_EXPIRATION = 2 ** 32;

/** The projected volume and file of the web-identity (IRSA) mode; not configurable upstream either. */
export const WEB_IDENTITY_VOLUME_NAME = "aws-iam-token";
export const WEB_IDENTITY_TOKEN_PATH = "token";

/** Label put on pods mutated in container-credentials mode (fixed, whatever the annotation prefix). */
export const POD_IDENTITY_LABEL = "eks.amazonaws.com/pod-identity";
export const POD_IDENTITY_LABEL_VALUE = "enabled";

/** Annotation names, under the annotation prefix (`<prefix>/<name>`). */
export const ANNOTATIONS = {
  /** Service account: the IAM role to assume. */
  roleArn: "role-arn",
  /** Service account: token audience. */
  audience: "audience",
  /** Service account: "true"/"false", overrides --sts-regional-endpoint. */
  stsRegionalEndpoints: "sts-regional-endpoints",
  /** Service account or pod (pod wins): token lifetime in seconds. */
  tokenExpiration: "token-expiration",
  /** Pod: comma-separated container names left alone. */
  skipContainers: "skip-containers",
} as const;

/** Returns an integer in [0, bound). Injectable so tests can fix the expiration jitter. */
export type JitterSource = (bound: number) => number;

export interface WebhookConfig {
  /** --annotation-prefix: the domain of the annotations read from service accounts and pods. */
  readonly annotationPrefix: string;
  /** --token-audience: default audience, overridden by the `<prefix>/audience` annotation. */
  readonly tokenAudience: string;
  /** --token-mount-path: where the web-identity token volume is mounted. */
  readonly tokenMountPath: string;
  /** --token-expiration: default token lifetime in seconds (600 to 2^32). */
  readonly tokenExpiration: number;
  /** --aws-default-region: if not empty, AWS_DEFAULT_REGION and AWS_REGION are injected. */
  readonly awsDefaultRegion: string;
  /** --sts-regional-endpoint: inject AWS_STS_REGIONAL_ENDPOINTS=regional by default. */
  readonly stsRegionalEndpoint: boolean;
  /** --watch-container-credentials-config: file listing service accounts for container credentials. */
  readonly watchContainerCredentialsConfig: string;
  /** --container-credentials-audience */
  readonly containerCredentialsAudience: string;
  /** --container-credentials-token-mount-path */
  readonly containerCredentialsTokenMountPath: string;
  /** --container-credentials-token-volume-name */
  readonly containerCredentialsTokenVolumeName: string;
  /** --container-credentials-token-path */
  readonly containerCredentialsTokenPath: string;
  /** --container-credentials-full-uri: value of AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  readonly containerCredentialsFullUri: string;
  /** Randomises the default lifetime into [79200, 86400] in container-credentials mode. */
  readonly jitter: JitterSource;
}

/** Every flag's default; the jitter, a source of randomness, is the caller's to give. */
export const DEFAULT_WEBHOOK_CONFIG: Omit<WebhookConfig, "jitter"> = Object.freeze({
  annotationPrefix: "eks.amazonaws.com",
  tokenAudience: "sts.amazonaws.com",
  tokenMountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
  tokenExpiration: DEFAULT_TOKEN_EXPIRATION,
  awsDefaultRegion: "",
  stsRegionalEndpoint: false,
  watchContainerCredentialsConfig: "",
  containerCredentialsAudience: "pods.eks.amazonaws.com",
  containerCredentialsTokenMountPath: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
  containerCredentialsTokenVolumeName: "eks-pod-identity-token",
  containerCredentialsTokenPath: "eks-pod-identity-token",
  containerCredentialsFullUri: "http://169.254.170.23/v1/credentials",
});

/** A lifetime kube-apiserver accepts: below 600 s raised to it (as upstream), above 2^32 s lowered to it. */
export function validTokenExpiration(seconds: number): number {
  return Math.min(MAX_TOKEN_EXPIRATION, Math.max(MIN_TOKEN_EXPIRATION, seconds));
}

/**
 * The defaults with some fields replaced; --token-expiration is brought within kube-apiserver's
 * bounds. The jitter has no default here: the edge passes `randomJitter` (src/adapters/random.ts).
 */
export function webhookConfig(
  overrides: Partial<WebhookConfig> & Pick<WebhookConfig, "jitter">,
): WebhookConfig {
  const merged = { ...DEFAULT_WEBHOOK_CONFIG, ...overrides };
  return Object.freeze({ ...merged, tokenExpiration: validTokenExpiration(merged.tokenExpiration) });
}
