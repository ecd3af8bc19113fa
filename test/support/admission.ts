/**
 * Admission test helpers: a pod-CREATE review parsed as the server parses it, and a fake of the
 * webhook's ServiceAccount lookup (the cache's `lookup`) for tests of the per-pod decision. The
 * fake answers from a table keyed "namespace/name" and records each question with the grace period
 * it was asked to wait; the real cache is tested on its own and against kube-apiserver.
 */
import assert from "node:assert/strict";
import { isPodCreate, parseAdmissionReview, type PodCreateRequest } from "../../src/core/admission.js";
import type { Lookup } from "../../src/webhook/admit.js";
import type { LookupResult } from "../../src/webhook/sa-cache.js";

/** A v1 pod CREATE review in namespace team-a (uid "u"); `request` overrides its fields, `object` first. */
export function podCreateRequest(request: Record<string, unknown>): PodCreateRequest {
  const parsed = parseAdmissionReview(
    JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "u",
        kind: { group: "", version: "v1", kind: "Pod" },
        operation: "CREATE",
        namespace: "team-a",
        ...request,
      },
    }),
  );
  assert.ok(isPodCreate(parsed));
  return parsed;
}

export function fakeLookup(table: Record<string, LookupResult>): Lookup & { asked: [string, number][] } {
  const asked: [string, number][] = [];
  return {
    asked,
    lookup(ns, name, graceMs) {
      asked.push([`${ns}/${name}`, graceMs]);
      return Promise.resolve(table[`${ns}/${name}`] ?? { annotations: undefined, via: "miss" });
    },
  };
}
