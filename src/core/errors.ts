/**
 * Typed errors with stable codes. The pure core throws these; each boundary (CLI exit codes,
 * HTTP status, admission responses) maps codes in exactly one place.
 */
export type ErrorCode =
  // input the user gave us is wrong (files, flags, documents)
  | "KEY_PEM_INVALID"
  | "KEY_ENCRYPTED"
  | "KEY_UNSUPPORTED_TYPE"
  | "KEY_UNSUPPORTED_CURVE"
  | "KEY_IS_CERTIFICATE"
  | "KEY_NOT_FOUND"
  | "URL_INVALID"
  | "URL_NOT_HTTPS"
  | "URL_HAS_QUERY"
  | "URL_HAS_FRAGMENT"
  | "USAGE"
  | "FILE_EXISTS"
  | "FILE_UNREADABLE"
  | "LOCK_BUSY"
  | "INPUT_INVALID"
  | "POD_INVALID"
  | "SERVICE_ACCOUNT_INVALID"
  | "ADMISSION_REVIEW_INVALID"
  | "TLS_INVALID"
  | "TLS_EXPIRED"
  | "TLS_NOT_YET_VALID"
  | "LISTEN_FAILED"
  // certificates the PKI adapter is asked to issue, or a CA it is asked to issue from
  | "CERT_OPTIONS_INVALID"
  | "CERT_ISSUER_INVALID"
  // the local stack: the peers it runs and the processes it supervises
  | "PEER_NOT_FOUND"
  | "PEER_NOT_READY"
  | "COMMAND_FAILED"
  // the Kubernetes API answered in a way it should not
  | "KUBE_API_UNEXPECTED"
  // the issuer: its source, its targets and the state object it keeps beside the documents
  | "SOURCE_UNREACHABLE"
  | "SOURCE_INVALID"
  | "ISSUER_MISMATCH"
  | "TARGET_INVALID"
  | "TARGET_UNREACHABLE"
  | "TARGET_WRITE_REFUSED"
  | "TARGET_VERIFY_FAILED"
  | "TARGET_CONFLICT"
  | "ACME_FAILED"
  | "STATE_INVALID"
  // trust policies, the STS configuration, and fetching an issuer's documents
  | "POLICY_INVALID"
  | "STS_CONFIG_INVALID"
  | "FETCH_FAILED"
  // IAM: ARNs we are given, and what IAM answers
  | "ARN_INVALID"
  | "IAM_ACCESS_DENIED"
  | "IAM_FAILED"
  // irsa doctor: a check failed (the report says which and how to fix it)
  | "CHECKS_FAILED";

export class IrsaError extends Error {
  readonly code: ErrorCode;
  /** How to fix it, one sentence. Shown after the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IrsaError";
    this.code = code;
    this.hint = hint;
  }

  /** The message with its hint, as a user should read it. */
  describe(): string {
    return this.hint === undefined ? this.message : `${this.message}\n  hint: ${this.hint}`;
  }
}

export function isIrsaError(e: unknown): e is IrsaError {
  return e instanceof IrsaError;
}
