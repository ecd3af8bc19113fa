/**
 * A fake of the webhook's ServiceAccount lookup (the cache's `lookup`), for tests of the per-pod
 * decision: answers from a table keyed "namespace/name" and records each question with the grace
 * period it was asked to wait. The real cache is tested on its own and against kube-apiserver.
 */
import type { Lookup } from "../../src/webhook/admit.js";
import type { LookupResult } from "../../src/webhook/sa-cache.js";

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
