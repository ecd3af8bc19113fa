/**
 * AdmissionReview parsing and answering, pure: bytes in, a validated request or a typed error out;
 * a decision in, the response body out. No I/O, no clock.
 *
 * kube-apiserver sends `admission.k8s.io/v1` (or `v1beta1` when a configuration lists only that)
 * and requires the answer in the same apiVersion, with `response.uid` equal to `request.uid`.
 * A response carries `patch` and `patchType` together or neither: kube-apiserver rejects a
 * `patchType` without a `patch`, so an empty patch omits both.
 */
import { IrsaError } from "../core/errors.js";
import { isObject, typeName, type JsonObject as Json } from "../core/mutate/json.js";

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

function requireObject(parent: Json, key: string, path: string): Json {
  const v = parent[key];
  if (v === undefined) throw invalid(path, "required object is missing");
  if (!isObject(v)) throw invalid(path, `expected an object, got ${typeName(v)}`);
  return v;
}

function requireString(parent: Json, key: string, path: string, nonEmpty: boolean): string {
  const v = parent[key];
  if (v === undefined) throw invalid(path, "required string is missing");
  if (typeof v !== "string") throw invalid(path, `expected a string, got ${typeName(v)}`);
  if (nonEmpty && v === "") throw invalid(path, "must not be empty");
  return v;
}

function optionalString(parent: Json, key: string, path: string): string {
  const v = parent[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalid(path, `expected a string, got ${typeName(v)}`);
  return v;
}

function optionalArrayOfObjects(parent: Json, key: string, path: string): void {
  const v = parent[key];
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw invalid(path, `expected an array, got ${typeName(v)}`);
  v.forEach((item, i) => {
    if (!isObject(item)) throw invalid(`${path}[${i}]`, `expected an object, got ${typeName(item)}`);
  });
}

/** Decodes the HTTP body. Never throws anything but an ADMISSION_REVIEW_INVALID IrsaError. */
export function parseAdmissionReview(body: string | Uint8Array): AdmissionRequest {
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  if (text.trim() === "") throw invalid("body", "empty; expected a JSON AdmissionReview");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid("body", `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw invalid("body", `expected a JSON object, got ${typeName(doc)}`);
  const apiVersion = requireString(doc, "apiVersion", "apiVersion", true);
  if (!(ADMISSION_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw invalid("apiVersion", `expected one of ${ADMISSION_API_VERSIONS.join(", ")}, got "${apiVersion}"`);
  }
  const kind = requireString(doc, "kind", "kind", true);
  if (kind !== "AdmissionReview") throw invalid("kind", `expected "AdmissionReview", got "${kind}"`);
  const req = requireObject(doc, "request", "request");
  const uid = requireString(req, "uid", "request.uid", true);
  const gvk = requireObject(req, "kind", "request.kind");
  const kindGvk: GroupVersionKind = {
    group: optionalString(gvk, "group", "request.kind.group"),
    version: requireString(gvk, "version", "request.kind.version", true),
    kind: requireString(gvk, "kind", "request.kind.kind", true),
  };
  const operation = requireString(req, "operation", "request.operation", true);
  const dryRun = req.dryRun;
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== "boolean") {
    throw invalid("request.dryRun", `expected a boolean, got ${typeName(dryRun)}`);
  }
  const object = req.object;
  if (object !== undefined && object !== null && !isObject(object)) {
    throw invalid("request.object", `expected an object, got ${typeName(object)}`);
  }
  const parsed: AdmissionRequest = {
    apiVersion: apiVersion as AdmissionApiVersion,
    uid,
    kind: kindGvk,
    operation,
    namespace: optionalString(req, "namespace", "request.namespace"),
    name: optionalString(req, "name", "request.name"),
    subResource: optionalString(req, "subResource", "request.subResource"),
    dryRun: dryRun === true,
    object: object ?? undefined,
  };
  if (isPodCreate(parsed)) validatePod(parsed.object);
  return parsed;
}

/** A CREATE of a core/v1 Pod itself (not a subresource): what this webhook mutates. */
export function isPodCreate(req: AdmissionRequest): req is PodCreateRequest {
  return (
    req.operation === "CREATE" &&
    req.kind.group === "" &&
    req.kind.version === "v1" &&
    req.kind.kind === "Pod" &&
    req.subResource === "" &&
    req.object !== undefined
  );
}

/**
 * The Pod shape the mutation relies on: metadata and spec are objects, the container lists are
 * arrays of objects. kube-apiserver always sends that; anything else is a caller bug, not a pod.
 */
function validatePod(pod: Json): void {
  if (pod.metadata !== undefined && pod.metadata !== null && !isObject(pod.metadata)) {
    throw invalid("request.object.metadata", `expected an object, got ${typeName(pod.metadata)}`);
  }
  const spec = requireObject(pod, "spec", "request.object.spec");
  for (const list of ["containers", "initContainers", "volumes"]) {
    optionalArrayOfObjects(spec, list, `request.object.spec.${list}`);
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

/** The JSON body of an HTTP error answer: a stable code and a message naming the field. */
export function errorBody(code: string, message: string): string {
  return `${JSON.stringify({ error: code, message })}\n`;
}
