/**
 * The deliberate divergences from upstream's webhook (aws/amazon-eks-pod-identity-webhook): the one
 * list the differential test (upstream-differential.test.ts) accepts differences from, documented
 * in docs/webhook-parity.md. Each entry names the upstream issue, says why we differ, and decides
 * from the input alone whether it explains a difference at one place of the resulting pod: a
 * difference no entry explains fails the test.
 */

type Json = Record<string, unknown>;

/** Where the two resulting pods differ: "metadata", "spec.volumes", "spec.containers[1]", ... */
export type DiffLocation = string;

/** What a divergence may look at: the pod as sent and what the webhooks were configured to inject. */
export interface DivergenceInput {
  readonly pod: Json;
  readonly mode: "web-identity" | "container-credentials" | "none";
  readonly volumeName: string;
  readonly mountPath: string;
  readonly audience: string;
  readonly tokenPath: string;
  readonly annotationPrefix: string;
}

export interface Divergence {
  readonly id: string;
  /** Upstream issue or pull request, e.g. "#315". */
  readonly upstreamIssue: string;
  readonly summary: string;
  readonly reason: string;
  explains(where: DiffLocation, input: DivergenceInput): boolean;
}

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};

function containerAt(input: DivergenceInput, where: DiffLocation): Json | undefined {
  const m = /^spec\.(containers|initContainers)\[(\d+)\]$/.exec(where);
  if (m === null) return undefined;
  return list(obj(input.pod.spec)[m[1] ?? ""])[Number(m[2])];
}

function annotation(input: DivergenceInput, name: string): string | undefined {
  const v = obj(obj(input.pod.metadata).annotations)[`${input.annotationPrefix}/${name}`];
  return typeof v === "string" ? v : undefined;
}

export const DIVERGENCES: readonly Divergence[] = [
  {
    id: "token-volume-name-taken",
    upstreamIssue: "#315 (PR #316)",
    summary:
      "a pod whose own volume already has the token volume's name (a hostPath, a secret, a token for another audience) is left unchanged, with a warning",
    reason:
      "upstream skips adding its volume but still points every container's env and mount at the pod's own volume, so the SDKs read the wrong file and fall back to the node's role",
    explains(_where, input) {
      if (input.mode === "none") return false;
      const volume = list(obj(input.pod.spec).volumes).find((v) => v.name === input.volumeName);
      if (volume === undefined) return false;
      const ours = list(obj(volume.projected).sources).some((s) => {
        const t = obj(s.serviceAccountToken);
        return (t.audience ?? "") === input.audience && (t.path ?? "") === input.tokenPath;
      });
      return !ours;
    },
  },
  {
    id: "token-expiration-above-2^32",
    upstreamIssue: "#105 (PR #97)",
    summary: "a token-expiration annotation above 2^32 seconds is lowered to 2^32",
    reason:
      "upstream passes it on and kube-apiserver refuses the pod (expirationSeconds must be at most 2^32), so the pod cannot be created at all",
    explains(where, input) {
      if (where !== "spec.volumes" || input.mode === "none") return false;
      const v = annotation(input, "token-expiration")?.trim();
      if (v === undefined || !/^[+-]?[0-9]+$/.test(v)) return false;
      return BigInt(v) > 2n ** 32n;
    },
  },
  {
    id: "skip-containers-any-spacing",
    upstreamIssue: "#93",
    summary:
      "skip-containers skips every container it names, however the list is spaced, split over lines or quoted",
    reason:
      'upstream reads the first record of Go\'s encoding/csv: after "a, b" it skips " b" (no container has that name), ignores further lines, and skips nothing when a quote is misplaced, so credentials went to the containers the pod asked to leave out',
    explains(where, input) {
      const c = containerAt(input, where);
      if (c === undefined || input.mode === "none") return false;
      const value = annotation(input, "skip-containers");
      if (value === undefined) return false;
      const names = new Set(value.split(/[\s,]+/).map((n) => n.replace(/^"|"$/g, "")));
      return names.has(String(c.name));
    },
  },
  {
    id: "token-mount-path-taken",
    upstreamIssue: "#159",
    summary:
      "a container with another volume already mounted at the token's mount path gets no second mount there",
    reason:
      'upstream matches mounts by volume name only and adds a second mount at the same path; kube-apiserver then refuses the pod ("mountPath: must be unique"), e.g. with Istio\'s holdApplicationUntilProxyStarts',
    explains(where, input) {
      const c = containerAt(input, where);
      if (c === undefined || input.mode === "none") return false;
      const mounts = list(c.volumeMounts);
      return (
        !mounts.some((m) => m.name === input.volumeName) &&
        mounts.some((m) => m.mountPath === input.mountPath && m.name !== input.volumeName)
      );
    },
  },
];
