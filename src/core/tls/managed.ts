/**
 * The webhook's own TLS (`irsa webhook --self-signed-tls`), as decisions over what a Secret holds:
 * a CA bundle (the signing CA first, then older CAs still valid), the signing CA's key and a
 * serving certificate. Pure: the caller parses the certificates into the facts below and does the
 * writes; several replicas that decide from the same Secret decide the same thing, and the API
 * server's optimistic concurrency lets one write win (the others re-read and adopt it).
 */
import { renewAt } from "../issuer/renewal.js";

/** A certificate's validity window, in ms since the epoch. */
export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface StoredLeaf extends Validity {
  /** Signed by the first CA of the bundle (the one whose key the Secret holds). */
  readonly issuedByFirstCa: boolean;
  /** Its SANs include every name it must serve (--service-name's, --tls-san). */
  readonly coversNames: boolean;
}

/** A Secret as parsed, or why it cannot be used. */
export type StoredTls =
  | { readonly kind: "absent" }
  | { readonly kind: "unusable"; readonly reason: string }
  | {
      readonly kind: "stored";
      /** ca.crt, signing CA first; never empty. */
      readonly cas: readonly Validity[];
      readonly leaf: StoredLeaf;
      /** When the first CA was put in the bundle (the Secret's annotation); undefined: long ago. */
      readonly caAddedAt: number | undefined;
    };

export interface TlsPolicy {
  /**
   * After a new CA joins the bundle, how long a serving certificate it signed is held back: the
   * caBundle is patched at once, but kube-apiserver sees it through an informer, and a replica
   * that died between the two writes leaves it to another replica's next pass.
   */
  readonly caPropagationMs: number;
  /** Renew the serving certificate now (SIGHUP), whatever its age. */
  readonly forceLeaf?: boolean;
}

/** What to write, and why (for the log). */
export type TlsDecision =
  | { readonly action: "keep"; readonly reason: string }
  /** No Secret: create one with a new CA and a serving certificate (create-if-absent). */
  | { readonly action: "create"; readonly reason: string }
  /** The Secret is unusable or its CA is expired: replace it whole (new CA, new leaf). */
  | { readonly action: "recreate"; readonly reason: string }
  /** Put a new CA first in the bundle; the serving certificate stays until the CA has propagated. */
  | { readonly action: "rotate-ca"; readonly reason: string }
  /** A new serving certificate signed by the first CA. */
  | { readonly action: "renew-leaf"; readonly reason: string };

/** Renewal is due at two thirds of the lifetime (the same rule as the issuer's ACME certificate). */
export function renewalDue(v: Validity, now: number): boolean {
  return now >= renewAt(new Date(v.notBefore), new Date(v.notAfter));
}

const valid = (v: Validity, now: number): boolean => now >= v.notBefore && now < v.notAfter;

/** The one decision a reconcile pass makes. At most one change per pass. */
export function decideTls(stored: StoredTls, now: number, policy: TlsPolicy): TlsDecision {
  if (stored.kind === "absent") return { action: "create", reason: "no Secret yet" };
  if (stored.kind === "unusable") return { action: "recreate", reason: stored.reason };
  const [ca] = stored.cas;
  if (ca === undefined) return { action: "recreate", reason: "the CA bundle is empty" };
  const leafValid = valid(stored.leaf, now);
  if (!valid(ca, now)) return { action: "recreate", reason: "the signing CA is not valid now" };
  if (!leafValid && !stored.leaf.issuedByFirstCa) {
    return { action: "recreate", reason: "the serving certificate is not valid and not from the signing CA" };
  }
  if (renewalDue(ca, now) && leafValid) return { action: "rotate-ca", reason: "the CA is due for renewal" };
  const leafReason = !leafValid
    ? "the serving certificate is not valid now"
    : policy.forceLeaf === true
      ? "renewal requested"
      : !stored.leaf.coversNames
        ? "the serving certificate does not cover every name"
        : !stored.leaf.issuedByFirstCa
          ? "the serving certificate is from an older CA"
          : renewalDue(stored.leaf, now)
            ? "the serving certificate is due for renewal"
            : undefined;
  if (leafReason === undefined) return { action: "keep", reason: "current" };
  const propagatedAt = (stored.caAddedAt ?? 0) + policy.caPropagationMs;
  if (leafValid && now < propagatedAt) {
    return {
      action: "keep",
      reason: `${leafReason}; waiting until ${new Date(propagatedAt).toISOString()} for the new CA to reach the caBundle`,
    };
  }
  return { action: "renew-leaf", reason: leafReason };
}

/** The CAs a new bundle keeps behind a new first CA: the old ones still valid at `now`, in order. */
export function bundleAfterRotation<T extends Validity>(cas: readonly T[], now: number): T[] {
  return cas.filter((c) => now < c.notAfter);
}

/** A MutatingWebhookConfiguration as far as its caBundles go. */
export interface WebhookConfigCaBundles {
  readonly name: string;
  readonly resourceVersion: string | undefined;
  /** Each webhook's clientConfig.caBundle (base64), in order; undefined where unset. */
  readonly caBundles: readonly (string | undefined)[];
}

export type JsonPatchOp =
  | { readonly op: "test"; readonly path: string; readonly value: string }
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: string };

/**
 * The JSON Patch that sets every webhook's caBundle to `bundle` (base64 PEM), guarded by a test of
 * the resourceVersion (a concurrent edit of the list makes it fail and the caller re-reads); an
 * empty list when nothing differs. A configuration with no webhooks is an error for the caller.
 */
export function caBundlePatch(config: WebhookConfigCaBundles, bundle: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  config.caBundles.forEach((current, i) => {
    if (current === bundle) return;
    ops.push({
      op: current === undefined ? "add" : "replace",
      path: `/webhooks/${i}/clientConfig/caBundle`,
      value: bundle,
    });
  });
  if (ops.length === 0) return [];
  const guard: JsonPatchOp[] =
    config.resourceVersion === undefined
      ? []
      : [{ op: "test", path: "/metadata/resourceVersion", value: config.resourceVersion }];
  return [...guard, ...ops];
}

/** What a write's answer means: a lost race (409) is not an error, the winner's state is adopted. */
export type WriteOutcome = "written" | "lost-race";

/**
 * The answer codes that mean another writer got there first: 409 (AlreadyExists on a create,
 * Conflict on an update with a stale resourceVersion) and, for a JSON Patch guarded by a test op,
 * 422 (the test failed: the object changed under us). Undefined: an error.
 */
export function writeOutcome(status: number, guardedPatch = false): WriteOutcome | undefined {
  if (status >= 200 && status < 300) return "written";
  if (status === 409 || (guardedPatch && status === 422)) return "lost-race";
  return undefined;
}
