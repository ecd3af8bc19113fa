/**
 * AWS STS's error answers: the code, the HTTP status and AWS's kind of message. Sources: the STS API
 * model (codes, statuses) and messages seen from real STS in public issue reports. Where a message
 * is not known it says so.
 */

export type StsErrorCode =
  | "InvalidIdentityToken"
  | "ExpiredTokenException"
  | "AccessDenied"
  | "IDPCommunicationError"
  | "ValidationError"
  | "MalformedPolicyDocument"
  | "PackedPolicyTooLarge"
  | "InvalidAction"
  | "MissingAction"
  | "InvalidParameterValue"
  | "MissingAuthenticationToken"
  | "InvalidClientTokenId"
  | "SignatureDoesNotMatch"
  | "ExpiredToken"
  | "IncompleteSignature"
  | "InternalFailure";

export interface StsError {
  readonly code: StsErrorCode;
  readonly status: number;
  readonly message: string;
  /** "Sender" for the caller's fault, "Receiver" for ours. */
  readonly type: "Sender" | "Receiver";
}

const STATUS: Readonly<Record<StsErrorCode, number>> = {
  InvalidIdentityToken: 400,
  ExpiredTokenException: 400,
  AccessDenied: 403,
  IDPCommunicationError: 400,
  ValidationError: 400,
  MalformedPolicyDocument: 400,
  PackedPolicyTooLarge: 400,
  InvalidAction: 400,
  MissingAction: 400,
  InvalidParameterValue: 400,
  MissingAuthenticationToken: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  ExpiredToken: 403,
  IncompleteSignature: 400,
  InternalFailure: 500,
};

export const KNOWN_ERROR_CODES: readonly StsErrorCode[] = Object.keys(STATUS) as StsErrorCode[];

export function stsError(code: StsErrorCode, message: string): StsError {
  return { code, status: STATUS[code], message, type: code === "InternalFailure" ? "Receiver" : "Sender" };
}

/** AWS's messages, verbatim where observed (note the double space and the missing space: AWS's own). */
export const MESSAGES = {
  noProvider: (iss: string) => `No OpenIDConnect provider found in your account for ${iss}`,
  incorrectAudience: "Incorrect token audience",
  missingClaim: (claim: string) => `Missing a required claim: ${claim}`,
  noKey:
    "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
  expired: (now: number, exp: number) =>
    `Token expired: current date/time ${now} must be before the expiration date/time${exp}`,
  tooOld: (age: number) => `Token too old: ${age}`,
  // Seen from STS for a token that is not a JWT at all (not in the notes; remembered from public reports).
  notJwt: "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
  // Not observed: AWS's text for a bad signature, a token not yet valid or a claim of the wrong
  // type is not documented; these keep AWS's code and say what is wrong in AWS's terse style.
  badSignature: "Token signature verification failed",
  notYetValid: (now: number, nbf: number) =>
    `Token not yet valid: current date/time ${now} must be after the not-before date/time ${nbf}`,
  issuedInFuture: (now: number, iat: number) =>
    `Token issued in the future: current date/time ${now} must be after the issue date/time ${iat}`,
  claimType: (claim: string, want: string) => `Invalid claim: ${claim} must be ${want}`,
  unsupportedAlg: (alg: string) =>
    `Unsupported token signing algorithm: ${alg} (tokens must be signed with RS256, RS384, RS512, ES256, ES384 or ES512)`,
  accessDenied: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
  durationTooLong: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
} as const;
