/**
 * AdmissionReview parsing and answering, pure: bytes in, a validated request or a typed error out;
 * a decision in, the response body out. No I/O, no clock.
 *
 * kube-apiserver sends `admission.k8s.io/v1` (or `v1beta1` when a configuration lists only that)
 * and requires the answer in the same apiVersion, with `response.uid` equal to `request.uid`.
 * A response carries `patch` and `patchType` together or neither: kube-apiserver rejects a
 * `patchType` without a `patch`, so an empty patch omits both.
 */
import { IrsaError } from "./errors.js";
import { Fields, isObject, typeName, type JsonObject as Json } from "./json.js";
import { emptyManagedFields } from "./skip-managed-fields.js";

export const ADMISSION_API_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The fields of `request` this webhook reads, validated. */
export interface AdmissionRequest {
  readonly apiVersion: AdmissionApiVersion;
  readonly uid: string;
  readonly kind: GroupVersionKind;
  /** "CREATE", "UPDATE", "DELETE" or "CONNECT". */
  readonly operation: string;
  /** Empty for cluster-scoped objects. */
  readonly namespace: string;
  /** Empty when the object has only a generateName. */
  readonly name: string;
  readonly subResource: string;
  readonly dryRun: boolean;
  /** The object being admitted, a JSON object (checked further for Pod CREATE). */
  readonly object: Readonly<Record<string, unknown>> | undefined;
}

/** A Pod CREATE: the only request this webhook changes. */
export interface PodCreateRequest extends AdmissionRequest {
  readonly object: Readonly<Record<string, unknown>>;
}

function invalid(field: string, problem: string): IrsaError {
  return new IrsaError(
    "ADMISSION_REVIEW_INVALID",
    `invalid AdmissionReview: ${field}: ${problem}`,
    "send an admission.k8s.io/v1 or v1beta1 AdmissionReview as kube-apiserver does",
  );
}

const fields = new Fields(invalid);

/** Decodes the HTTP body. Never throws anything but an ADMISSION_REVIEW_INVALID IrsaError. */
export function parseAdmissionReview(body: string | Uint8Array): AdmissionRequest {
  // Decoded in place (a Buffer's toString reads its bytes; Buffer.from(body) would copy them first).
  const text =
    typeof body === "string"
      ? body
      : Buffer.isBuffer(body)
        ? body.toString("utf8")
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  let doc: unknown;
  try {
    // managedFields (half the bytes) are read by nothing here: not built at all.
    doc = JSON.parse(emptyManagedFields(text));
  } catch (e) {
    // Only a failed parse looks at the text again, for the clearer message.
    if (text.trim() === "") throw invalid("body", "empty; expected a JSON AdmissionReview");
    throw invalid("body", `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw invalid("body", `expected a JSON object, got ${typeName(doc)}`);
  const apiVersion = fields.nonEmptyString(doc, "apiVersion", "");
  if (!(ADMISSION_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw invalid("apiVersion", `expected one of ${ADMISSION_API_VERSIONS.join(", ")}, got "${apiVersion}"`);
  }
  const kind = fields.nonEmptyString(doc, "kind", "");
  if (kind !== "AdmissionReview") throw invalid("kind", `expected "AdmissionReview", got "${kind}"`);
  const req = fields.reqObject(doc, "request", "");
  const gvk = fields.reqObject(req, "kind", "request");
  const parsed: AdmissionRequest = {
    apiVersion: apiVersion as AdmissionApiVersion,
    uid: fields.nonEmptyString(req, "uid", "request"),
    kind: {
      group: fields.optString(gvk, "group", "request.kind") ?? "",
      version: fields.nonEmptyString(gvk, "version", "request.kind"),
      kind: fields.nonEmptyString(gvk, "kind", "request.kind"),
    },
    operation: fields.nonEmptyString(req, "operation", "request"),
    namespace: fields.optString(req, "namespace", "request") ?? "",
    name: fields.optString(req, "name", "request") ?? "",
    subResource: fields.optString(req, "subResource", "request") ?? "",
    dryRun: fields.optBoolean(req, "dryRun", "request") === true,
    object: fields.optObject(req, "object", "request"),
  };
  if (isPodCreateOf(parsed)) {
    // kube-apiserver always sends the pod it is creating; without it there is nothing to admit.
    if (parsed.object === undefined) throw invalid("request.object", "required for a Pod CREATE, missing");
    validatePod(parsed.object);
  }
  return parsed;
}

/** A CREATE of a core/v1 Pod itself (not a subresource), whatever its object. */
function isPodCreateOf(req: AdmissionRequest): boolean {
  return (
    req.operation === "CREATE" &&
    req.kind.group === "" &&
    req.kind.version === "v1" &&
    req.kind.kind === "Pod" &&
    req.subResource === ""
  );
}

/** A CREATE of a core/v1 Pod itself (not a subresource): what this webhook mutates. */
export function isPodCreate(req: AdmissionRequest): req is PodCreateRequest {
  return isPodCreateOf(req) && req.object !== undefined;
}

/**
 * The Pod shape the mutation relies on: metadata and spec are objects, the container lists are
 * arrays of objects. kube-apiserver always sends that; anything else is a caller bug, not a pod.
 */
function validatePod(pod: Json): void {
  fields.optObject(pod, "metadata", "request.object");
  const spec = fields.reqObject(pod, "spec", "request.object");
  for (const list of ["containers", "initContainers", "volumes"]) {
    fields.optObjectArray(spec, list, "request.object.spec");
  }
}

export interface AdmissionResponseBody {
  apiVersion: AdmissionApiVersion;
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: true;
    patchType?: "JSONPatch";
    patch?: string;
    warnings?: string[];
  };
}

/**
 * The answer: always allowed (this webhook never denies), in the request's apiVersion, uid echoed,
 * the JSON Patch base64-encoded; no patch and no patchType when there is nothing to change.
 */
export function admissionResponse(
  req: Pick<AdmissionRequest, "apiVersion" | "uid">,
  patch: readonly unknown[] | undefined,
  warnings: readonly string[] = [],
): AdmissionResponseBody {
  const response: AdmissionResponseBody["response"] = { uid: req.uid, allowed: true };
  if (patch !== undefined && patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(patch), "utf8").toString("base64");
  }
  if (warnings.length > 0) response.warnings = [...warnings];
  return { apiVersion: req.apiVersion, kind: "AdmissionReview", response };
}

/**
 * The answer's text, the same as `JSON.stringify(admissionResponse(...))`, serialised once: the
 * patch is stringified and base64-encoded, and the envelope around it written as text, so the
 * base64 string (most of the answer) is not scanned again by a second JSON.stringify. A string,
 * not a Buffer: Node's HTTP writes a string body in one piece with the headers, a Buffer after
 * them as a second TLS record, which halved the throughput (the client's delayed ACK).
 */
export function admissionResponseText(
  req: Pick<AdmissionRequest, "apiVersion" | "uid">,
  patch: readonly unknown[] | undefined,
  warnings: readonly string[] = [],
): string {
  let text = `{"apiVersion":${JSON.stringify(req.apiVersion)},"kind":"AdmissionReview","response":{"uid":${JSON.stringify(req.uid)},"allowed":true`;
  if (patch !== undefined && patch.length > 0) {
    // base64 has no character JSON escapes.
    text += `,"patchType":"JSONPatch","patch":"${Buffer.from(JSON.stringify(patch), "utf8").toString("base64")}"`;
  }
  if (warnings.length > 0) text += `,"warnings":${JSON.stringify(warnings)}`;
  return `${text}}}`;
}
