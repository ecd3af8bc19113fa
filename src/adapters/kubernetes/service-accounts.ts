/**
 * ServiceAccounts from the API server: list (paged, metadata only), watch (with bookmarks and a
 * server-side timeout) and get, reduced to the few fields a cache needs. The list asks for
 * PartialObjectMetadataList (the Accept header kubectl and client-go's metadata informers use):
 * only names, annotations and versions cross the wire, and the pages are decoded as plain JSON
 * rather than into the client library's model objects; watch and get go through
 * @kubernetes/client-node.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { emptyManagedFields } from "../../core/skip-managed-fields.js";
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

/** Accounts per list page: metadata-only items are small (a few hundred bytes). */
export const LIST_PAGE_SIZE = 2000;

/** Metadata only, else (a server without it) the full objects, whose metadata reads the same. */
const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

interface ListPage {
  readonly items?: readonly { readonly metadata?: RawMeta }[] | null;
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

/** An API error with the HTTP status (`code`, as client-node's ApiException), e.g. 410 to relist. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One GET of a JSON document with the kubeconfig's credentials, aborted with `signal`. */
async function getJson(kc: KubeConfig, url: URL, accept: string, signal: AbortSignal): Promise<unknown> {
  const opts: RequestOptions = { method: "GET", headers: { Accept: accept }, signal };
  await kc.applyToHTTPSOptions(opts);
  const plain = url.protocol === "http:";
  if (plain) delete opts.agent;
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          let message = text.slice(0, 500);
          try {
            const m = (JSON.parse(text) as { message?: unknown }).message;
            if (typeof m === "string") message = m;
          } catch {
            // not a Status document: keep the text
          }
          reject(new KubeApiError(status, `GET ${url.pathname}: HTTP ${status}: ${message}`));
          return;
        }
        try {
          // managedFields (most of each item's bytes) would only be garbage to collect.
          resolve(JSON.parse(emptyManagedFields(text)));
        } catch (e) {
          reject(new Error(`GET ${url.pathname}: not JSON (${(e as Error).message})`));
        }
      });
    };
    const req = plain ? httpRequest(url, opts, onResponse) : httpsRequest(url, opts, onResponse);
    req.on("error", reject);
    req.end();
  });
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
      const server = kc.getCurrentCluster()?.server ?? "";
      do {
        const url = new URL(`${server.replace(/\/$/, "")}${path}`);
        url.searchParams.set("limit", String(LIST_PAGE_SIZE));
        if (cont !== undefined) url.searchParams.set("continue", cont);
        const page = (await getJson(kc, url, METADATA_LIST_ACCEPT, signal)) as ListPage;
        for (const item of page.items ?? []) items.push(fromMeta(item.metadata));
        resourceVersion = page.metadata?.resourceVersion ?? "";
        cont = page.metadata?.continue || undefined;
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
