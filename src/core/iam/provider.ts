/** What to change on an IAM OIDC provider so that it has the client ids and thumbprints we want. Pure. */
import { IrsaError } from "../errors.js";

export interface ProviderState {
  readonly clientIds: readonly string[];
  readonly thumbprints: readonly string[];
}

export interface ProviderPlan {
  /** No provider yet: create it with `want`. */
  readonly create: boolean;
  readonly addClientIds: readonly string[];
  readonly removeClientIds: readonly string[];
  /** The full list to set (IAM's UpdateOpenIDConnectProviderThumbprint replaces it), or undefined to keep it. */
  readonly setThumbprints: readonly string[] | undefined;
  readonly changed: boolean;
}

export function checkThumbprint(t: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(t)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `thumbprint "${t}" is not 40 hex digits`,
      "compute it with irsa iam thumbprint --issuer URL",
    );
  }
  return t.toLowerCase();
}

/**
 * Adds what is missing; removes client ids and thumbprints not wanted only with `prune` (others
 * may rely on them). IAM allows at most 5 thumbprints.
 */
export function planProvider(
  current: ProviderState | undefined,
  want: ProviderState,
  prune: boolean,
): ProviderPlan {
  const wantIds = [...new Set(want.clientIds)];
  const wantTps = [...new Set(want.thumbprints.map((t) => t.toLowerCase()))];
  if (current === undefined) {
    return {
      create: true,
      addClientIds: wantIds,
      removeClientIds: [],
      setThumbprints: wantTps,
      changed: true,
    };
  }
  const haveTps = current.thumbprints.map((t) => t.toLowerCase());
  const addClientIds = wantIds.filter((c) => !current.clientIds.includes(c));
  const removeClientIds = prune ? current.clientIds.filter((c) => !wantIds.includes(c)) : [];
  const nextTps =
    prune && wantTps.length > 0 ? wantTps : [...haveTps, ...wantTps.filter((t) => !haveTps.includes(t))];
  const sameTps = nextTps.length === haveTps.length && nextTps.every((t) => haveTps.includes(t));
  if (nextTps.length > 5) {
    throw new IrsaError(
      "INPUT_INVALID",
      `an IAM OIDC provider holds at most 5 thumbprints; this would make ${nextTps.length}`,
      "pass --prune to replace the provider's thumbprints with the ones given",
    );
  }
  const setThumbprints = sameTps ? undefined : nextTps;
  return {
    create: false,
    addClientIds,
    removeClientIds,
    setThumbprints,
    changed: addClientIds.length > 0 || removeClientIds.length > 0 || setThumbprints !== undefined,
  };
}
