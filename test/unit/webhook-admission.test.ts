import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  admissionResponse,
  admissionResponseText,
  isPodCreate,
  parseAdmissionReview,
  type AdmissionRequest,
} from "../../src/core/admission.js";
import { errorBody } from "../../src/runtime/http.js";

type Json = Record<string, unknown>;

function pod(extra: Json = {}): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", namespace: "team-a" },
    spec: { serviceAccountName: "app", containers: [{ name: "main", image: "busybox" }] },
    ...extra,
  };
}

function review(request: Json, apiVersion = "admission.k8s.io/v1"): Json {
  return {
    apiVersion,
    kind: "AdmissionReview",
    request: {
      uid: "0b1c7e1e-6c8e-4f4a-9d6b-2f1c3b9a7d10",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "team-a",
      object: pod(),
      ...request,
    },
  };
}

const text = (doc: unknown) => JSON.stringify(doc);

describe("parseAdmissionReview accepts what kube-apiserver sends", () => {
  const cases: [string, unknown, Partial<AdmissionRequest>, boolean][] = [
    ["v1 pod CREATE", review({}), { apiVersion: "admission.k8s.io/v1", operation: "CREATE" }, true],
    [
      "v1beta1 pod CREATE",
      review({}, "admission.k8s.io/v1beta1"),
      { apiVersion: "admission.k8s.io/v1beta1" },
      true,
    ],
    ["pod with only generateName", review({ name: undefined }), { name: "" }, true],
    ["dry run", review({ dryRun: true }), { dryRun: true }, true],
    ["pod UPDATE", review({ operation: "UPDATE", oldObject: pod() }), { operation: "UPDATE" }, false],
    [
      "pod DELETE with object null",
      review({ operation: "DELETE", object: null }),
      { object: undefined },
      false,
    ],
    [
      "pod DELETE with no object field at all",
      review({ operation: "DELETE", object: undefined }),
      { object: undefined },
      false,
    ],
    [
      "a Pod CREATE of another group is not a pod CREATE",
      review({ kind: { group: "example.com", version: "v1", kind: "Pod" } }),
      { operation: "CREATE" },
      false,
    ],
    [
      "a Pod CREATE of another version is not a pod CREATE",
      review({ kind: { group: "", version: "v2", kind: "Pod" } }),
      { operation: "CREATE" },
      false,
    ],
    [
      "a CREATE on a pod subresource is not a pod CREATE",
      review({ subResource: "binding", object: { target: {} } }),
      { subResource: "binding" },
      false,
    ],
    [
      "pods/ephemeralcontainers subresource",
      review({ operation: "UPDATE", subResource: "ephemeralcontainers" }),
      { subResource: "ephemeralcontainers" },
      false,
    ],
    [
      "a ConfigMap",
      review({ kind: { group: "", version: "v1", kind: "ConfigMap" }, object: { data: {} } }),
      { kind: { group: "", version: "v1", kind: "ConfigMap" } },
      false,
    ],
    [
      "a Deployment (group apps) with a spec the pod rules would reject",
      review({ kind: { group: "apps", version: "v1", kind: "Deployment" }, object: { spec: "x" } }),
      { kind: { group: "apps", version: "v1", kind: "Deployment" } },
      false,
    ],
    [
      "a cluster-scoped object without namespace",
      review({ namespace: undefined, kind: { group: "", version: "v1", kind: "Namespace" }, object: {} }),
      { namespace: "" },
      false,
    ],
    [
      "a kind without group is of the core group",
      review({ kind: { version: "v1", kind: "Pod" } }),
      { kind: { group: "", version: "v1", kind: "Pod" } },
      true,
    ],
    ["the object's name", review({ name: "app" }), { name: "app" }, true],
    [
      "pod with null volumes and initContainers (Go's nil slices)",
      review({ object: pod({ spec: { containers: [{ name: "c" }], volumes: null, initContainers: null } }) }),
      {},
      true,
    ],
  ];
  for (const [name, doc, expected, podCreate] of cases) {
    it(name, () => {
      const req = parseAdmissionReview(text(doc));
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(req[k as keyof AdmissionRequest], v, k);
      }
      assert.equal(req.uid, "0b1c7e1e-6c8e-4f4a-9d6b-2f1c3b9a7d10");
      assert.equal(isPodCreate(req), podCreate);
    });
  }

  it("counts a Pod CREATE without its object as nothing to mutate", () => {
    const req: AdmissionRequest = {
      apiVersion: "admission.k8s.io/v1",
      uid: "u",
      kind: { group: "", version: "v1", kind: "Pod" },
      operation: "CREATE",
      namespace: "team-a",
      name: "",
      subResource: "",
      dryRun: false,
      object: undefined,
    };
    assert.equal(isPodCreate(req), false);
    assert.equal(isPodCreate({ ...req, object: pod() }), true);
  });

  it("takes bytes as well as text", () => {
    const req = parseAdmissionReview(new TextEncoder().encode(text(review({}))));
    assert.equal(req.namespace, "team-a");
    assert.ok(isPodCreate(req));
    assert.equal((req.object.spec as Json).serviceAccountName, "app");
  });

  it("reads only a view's own bytes: a Buffer slice (as an HTTP body is) and a Uint8Array at an offset", () => {
    const body = text(review({}));
    // Both views sit inside larger memory with other bytes before and after them.
    const pool = Buffer.from(`{"garbage":1}${body}trailing`);
    const slice = pool.subarray(13, 13 + Buffer.byteLength(body));
    assert.ok(Buffer.isBuffer(slice) && slice.byteOffset > 0);
    assert.equal(parseAdmissionReview(slice).namespace, "team-a");
    const bytes = new TextEncoder().encode(`xx${body}yy`);
    const view = new Uint8Array(bytes.buffer, 2, bytes.byteLength - 4);
    assert.ok(!Buffer.isBuffer(view));
    assert.equal(parseAdmissionReview(view).namespace, "team-a");
  });
});

describe("parseAdmissionReview rejects malformed reviews with the field and the problem", () => {
  const cases: [string, string, RegExp][] = [
    ["empty body", "", /body: empty/],
    ["a body of only whitespace", " \n\t", /body: empty/],
    ["not JSON", "{not json", /body: not valid JSON/],
    ["truncated JSON", text(review({})).slice(0, 40), /body: not valid JSON/],
    ["a JSON array", "[]", /body: expected a JSON object, got an array/],
    ["a JSON string", '"x"', /body: expected a JSON object, got a string/],
    [
      "no apiVersion",
      text({ ...review({}), apiVersion: undefined }),
      /apiVersion: required string is missing/,
    ],
    [
      "unknown apiVersion",
      text(review({}, "admission.k8s.io/v2")),
      /apiVersion: expected one of admission\.k8s\.io\/v1, admission\.k8s\.io\/v1beta1, got "admission\.k8s\.io\/v2"/,
    ],
    ["no kind", text({ ...review({}), kind: undefined }), /kind: required string is missing/],
    ["wrong kind", text({ ...review({}), kind: "Pod" }), /kind: expected "AdmissionReview", got "Pod"/],
    ["no request", text({ ...review({}), request: undefined }), /request: required object is missing/],
    [
      "request is a string",
      text({ ...review({}), request: "x" }),
      /request: expected an object, got a string/,
    ],
    ["no uid", text(review({ uid: undefined })), /request\.uid: required string is missing/],
    ["empty uid", text(review({ uid: "" })), /request\.uid: must not be empty/],
    ["numeric uid", text(review({ uid: 7 })), /request\.uid: expected a string, got a number/],
    ["no kind", text(review({ kind: undefined })), /request\.kind: required object is missing/],
    [
      "a group that is not a string",
      text(review({ kind: { group: 1, version: "v1", kind: "Pod" } })),
      /request\.kind\.group: expected a string, got a number/,
    ],
    [
      "kind without version",
      text(review({ kind: { kind: "Pod" } })),
      /request\.kind\.version: required string is missing/,
    ],
    ["kind without kind", text(review({ kind: { version: "v1" } })), /request\.kind\.kind: required string/],
    [
      "no operation",
      text(review({ operation: undefined })),
      /request\.operation: required string is missing/,
    ],
    [
      "dryRun as a string",
      text(review({ dryRun: "yes" })),
      /request\.dryRun: expected a boolean, got a string/,
    ],
    ["object is an array", text(review({ object: [] })), /request\.object: expected an object, got an array/],
    [
      "a Pod CREATE whose object is null",
      text(review({ object: null })),
      /request\.object: required for a Pod CREATE, missing/,
    ],
    [
      "a Pod CREATE with no object field",
      text(review({ object: undefined })),
      /request\.object: required for a Pod CREATE, missing/,
    ],
    [
      "namespace is a number",
      text(review({ namespace: 3 })),
      /request\.namespace: expected a string, got a number/,
    ],
    ["name is a number", text(review({ name: 3 })), /request\.name: expected a string, got a number/],
    [
      "subResource is a number",
      text(review({ subResource: 3 })),
      /request\.subResource: expected a string, got a number/,
    ],
    [
      "pod without spec",
      text(review({ object: { metadata: {} } })),
      /request\.object\.spec: required object/,
    ],
    [
      "pod metadata is a string",
      text(review({ object: pod({ metadata: "x" }) })),
      /request\.object\.metadata: expected an object, got a string/,
    ],
    [
      "containers is an object",
      text(review({ object: pod({ spec: { containers: {} } }) })),
      /request\.object\.spec\.containers: expected an array, got an object/,
    ],
    [
      "a container is a string",
      text(review({ object: pod({ spec: { containers: [{ name: "a" }, "b"] } }) })),
      /request\.object\.spec\.containers\[1\]: expected an object, got a string/,
    ],
    [
      "initContainers is an object",
      text(review({ object: pod({ spec: { containers: [], initContainers: {} } }) })),
      /request\.object\.spec\.initContainers: expected an array, got an object/,
    ],
    [
      "volumes is a number",
      text(review({ object: pod({ spec: { containers: [], volumes: 1 } }) })),
      /request\.object\.spec\.volumes: expected an array, got a number/,
    ],
  ];
  for (const [name, body, message] of cases) {
    it(name, () => {
      assert.throws(
        () => parseAdmissionReview(body),
        (e: unknown) => {
          assert.ok(e instanceof IrsaError, `expected IrsaError, got ${String(e)}`);
          assert.equal(e.code, "ADMISSION_REVIEW_INVALID");
          // The field is named by its whole path from the review's root.
          assert.match(e.message, new RegExp(`^invalid AdmissionReview: ${message.source}`));
          assert.ok(e.hint);
          return true;
        },
      );
    });
  }
});

describe("admissionResponse", () => {
  const patch = [{ op: "add", path: "/spec/volumes", value: [{ name: "aws-iam-token" }] }];

  it("answers in the request's apiVersion, echoes the uid, allows, base64 JSON Patch", () => {
    for (const apiVersion of ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const) {
      const body = admissionResponse({ apiVersion, uid: "u-1" }, patch);
      assert.equal(body.apiVersion, apiVersion);
      assert.equal(body.kind, "AdmissionReview");
      assert.equal(body.response.uid, "u-1");
      assert.equal(body.response.allowed, true);
      assert.equal(body.response.patchType, "JSONPatch");
      assert.deepEqual(JSON.parse(Buffer.from(body.response.patch ?? "", "base64").toString("utf8")), patch);
    }
  });

  it("omits patch and patchType together when there is nothing to change", () => {
    for (const p of [undefined, []]) {
      const body = admissionResponse({ apiVersion: "admission.k8s.io/v1", uid: "u-2" }, p);
      assert.deepEqual(body, {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: "u-2", allowed: true },
      });
    }
  });

  it("carries warnings only when there are some", () => {
    const body = admissionResponse({ apiVersion: "admission.k8s.io/v1", uid: "u" }, undefined, ["w"]);
    assert.deepEqual(body.response.warnings, ["w"]);
  });

  it("keeps non-ASCII values intact through base64", () => {
    const p = [{ op: "add", path: "/metadata/labels/x", value: "é ☃" }];
    const body = admissionResponse({ apiVersion: "admission.k8s.io/v1", uid: "u" }, p);
    assert.deepEqual(JSON.parse(Buffer.from(body.response.patch ?? "", "base64").toString("utf8")), p);
  });
});

describe("admissionResponseText is JSON.stringify(admissionResponse) byte for byte", () => {
  const cases: [string, Parameters<typeof admissionResponse>][] = [
    ["no patch", [{ apiVersion: "admission.k8s.io/v1", uid: "u" }, undefined]],
    ["empty patch", [{ apiVersion: "admission.k8s.io/v1beta1", uid: "u" }, []]],
    [
      "patch and warnings",
      [
        { apiVersion: "admission.k8s.io/v1", uid: "705ab4f5-6393-11e8-b7cc-42010a800002" },
        [{ op: "add", path: "/metadata/labels/x", value: 'é ☃ "q" \u2028' }],
        ['irsa webhook: "quoted" and \\ backslash', "second"],
      ],
    ],
    ["warnings only", [{ apiVersion: "admission.k8s.io/v1", uid: 'u"\\' }, undefined, ["w"]]],
  ];
  for (const [name, args] of cases) {
    it(name, () => {
      assert.equal(admissionResponseText(...args), JSON.stringify(admissionResponse(...args)));
    });
  }
});

describe("errorBody", () => {
  it("is one JSON line with the code and message", () => {
    const b = errorBody("ADMISSION_REVIEW_INVALID", 'request.uid: "x"');
    assert.ok(b.endsWith("\n"));
    assert.deepEqual(JSON.parse(b), { error: "ADMISSION_REVIEW_INVALID", message: 'request.uid: "x"' });
  });
});
