/**
 * ServiceAccounts from the API server: list (paged), watch (with bookmarks and a server-side
 * timeout) and get, through @kubernetes/client-node, reduced to the few fields a cache needs.
 */
import {
  ApiException,
  CoreV1Api,
  setHeaderMiddleware,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type V1ServiceAccount,
} from "@kubernetes/client-node";

/** What the cache needs of a ServiceAccount. */
export interface ServiceAccountRecord {
  readonly namespace: string;
  readonly name: string;
  readonly annotations?: Readonly<Record<string, string>> | null | undefined;
  readonly resourceVersion?: string | undefined;
}

export type ServiceAccountEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: ServiceAccountRecord }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  | { readonly type: "ERROR"; readonly code: number | undefined; readonly message: string };

export interface ServiceAccountList {
  readonly items: readonly ServiceAccountRecord[];
  readonly resourceVersion: string;
}

/** list, watch and get ServiceAccounts, scoped to one namespace or all. */
export interface ServiceAccountSource {
  list(signal: AbortSignal): Promise<ServiceAccountList>;
  /**
   * Streams changes after `resourceVersion` to `onEvent`, with bookmarks, asking the server to end
   * the watch after `timeoutSeconds`. Resolves when the server ends the watch, rejects on a transport
   * error (`statusCode`/`code` 410 means: relist), settles soon after `signal` aborts.
   */
  watch(
    resourceVersion: string,
    onEvent: (e: ServiceAccountEvent) => void,
    signal: AbortSignal,
    timeoutSeconds: number,
  ): Promise<void>;
  /** The account, or undefined if it does not exist (404). */
  get(namespace: string, name: string, signal: AbortSignal): Promise<ServiceAccountRecord | undefined>;
}

interface RawMeta {
  namespace?: unknown;
  name?: unknown;
  annotations?: unknown;
  resourceVersion?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** From a decoded V1ServiceAccount or the raw JSON of a watch event. */
function fromMeta(meta: RawMeta | undefined): ServiceAccountRecord {
  const a = meta?.annotations;
  return {
    namespace: str(meta?.namespace) ?? "",
    name: str(meta?.name) ?? "",
    annotations: typeof a === "object" && a !== null ? (a as Record<string, string>) : undefined,
    resourceVersion: str(meta?.resourceVersion),
  };
}

function fromV1(sa: V1ServiceAccount): ServiceAccountRecord {
  return fromMeta(sa.metadata);
}

/** Per-call options that abort the request with `signal`. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const base = setHeaderMiddleware("Accept", "application/json");
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return base.pre(ctx);
        },
        post: (ctx) => base.post(ctx),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

/**
 * The real source: the API server through @kubernetes/client-node. Needs get, list and watch on
 * serviceaccounts (cluster-wide, or in `namespace` only).
 */
export function kubeServiceAccountSource(kc: KubeConfig, namespace?: string): ServiceAccountSource {
  const api = kc.makeApiClient(CoreV1Api);
  const watcher = new Watch(kc);
  const path =
    namespace === undefined
      ? "/api/v1/serviceaccounts"
      : `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`;
  return {
    async list(signal) {
      const items: ServiceAccountRecord[] = [];
      let cont: string | undefined;
      let resourceVersion = "";
      do {
        const page =
          namespace === undefined
            ? await api.listServiceAccountForAllNamespaces(
                { limit: 500, _continue: cont },
                withSignal(signal),
              )
            : await api.listNamespacedServiceAccount(
                { namespace, limit: 500, _continue: cont },
                withSignal(signal),
              );
        for (const sa of page.items) items.push(fromV1(sa));
        resourceVersion = page.metadata?.resourceVersion ?? "";
        cont = page.metadata?._continue || undefined;
      } while (cont !== undefined);
      return { items, resourceVersion };
    },

    watch(resourceVersion, onEvent, signal, timeoutSeconds) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        let settled = false;
        const done = (err: unknown): void => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          if (err === null || err === undefined || signal.aborted) resolve();
          else reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        };
        const onAbort = (): void => {
          controller?.abort();
          done(null);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        watcher
          .watch(
            path,
            { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
            (phase: string, obj: unknown) => {
              if (settled) return;
              const o = (typeof obj === "object" && obj !== null ? obj : {}) as {
                metadata?: RawMeta;
                code?: unknown;
                message?: unknown;
              };
              if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") {
                onEvent({ type: phase, object: fromMeta(o.metadata) });
              } else if (phase === "BOOKMARK") {
                onEvent({ type: "BOOKMARK", resourceVersion: str(o.metadata?.resourceVersion) ?? "" });
              } else if (phase === "ERROR") {
                const code = typeof o.code === "number" ? o.code : undefined;
                onEvent({ type: "ERROR", code, message: str(o.message) ?? "watch error" });
              }
            },
            done,
          )
          .then(
            (c) => {
              controller = c;
              if (settled) c.abort();
            },
            (e: unknown) => {
              done(e);
            },
          );
      });
    },

    async get(ns, name, signal) {
      try {
        return fromV1(await api.readNamespacedServiceAccount({ namespace: ns, name }, withSignal(signal)));
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    },
  };
}
