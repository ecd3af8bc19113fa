/**
 * What every HTTP server of ours shares: listening with a clear error, small answers, the HTTPS
 * server with slow-client timeouts and a graceful drain, and the plain-HTTP health and metrics
 * server (/healthz, /livez, /readyz, /metrics).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Registry } from "prom-client";
import { IrsaError } from "../core/errors.js";
import type { Log } from "./log.js";
import { TLS_OPTIONS, type ReloadingTls } from "./tls.js";

/** Longest a connection may take to finish its TLS handshake, or a request its headers. */
export const STALL_TIMEOUT_MS = 10_000;
/** Longest a request may take to arrive whole: kube-apiserver's longest webhook timeout. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Writes a whole answer with its length. */
export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = "application/json",
): void {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": typeof body === "string" ? Buffer.byteLength(body) : body.length,
  });
  res.end(body);
}

/** The JSON body of an HTTP error answer: a stable code and a message. */
export function errorBody(code: string, message: string): string {
  return `${JSON.stringify({ error: code, message })}\n`;
}

/** The request's path without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Listens; rejects with IrsaError LISTEN_FAILED naming the address and what to do. */
export function listen(
  server: Server | HttpsServer,
  port: number,
  host: string | undefined,
  what: string,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(
        new IrsaError(
          "LISTEN_FAILED",
          `cannot listen for ${what} on ${host ?? "*"}:${port}: ${e.code ?? e.message}`,
          e.code === "EACCES"
            ? "ports below 1024 need root or CAP_NET_BIND_SERVICE; choose another port"
            : "choose another port or stop the process using it",
          { cause: e },
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Why the process is not ready, or undefined when it is. */
export type Readiness = () => string | undefined;

/** Answers /healthz, /livez (alive) and /readyz; false for any other path. */
export function healthRoute(req: IncomingMessage, res: ServerResponse, readiness: Readiness): boolean {
  const path = pathOf(req);
  if (path === "/healthz" || path === "/livez") {
    send(res, 200, "ok\n", "text/plain; charset=utf-8");
    return true;
  }
  if (path === "/readyz") {
    const why = readiness();
    if (why === undefined) send(res, 200, "ok\n", "text/plain; charset=utf-8");
    else send(res, 503, `not ready: ${why}\n`, "text/plain; charset=utf-8");
    return true;
  }
  return false;
}

export interface HttpsServerOptions {
  readonly host?: string | undefined;
  /** 0 picks a free port. */
  readonly port: number;
  /** What the port is for, in errors ("admission (HTTPS)"). */
  readonly what: string;
  readonly tls: ReloadingTls;
  /** Overrides of TLS_OPTIONS (e.g. --tls-min-version, --tls-cipher-suites), kept across reloads. */
  readonly secureOptions?: Pick<SecureContextOptions, "minVersion" | "ciphers">;
  readonly log: Log;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** How long a whole request may take to arrive; default REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number | undefined;
}

/** A listening server (HTTPS or plain HTTP) with its drain. */
export interface RunningServer<S extends Server | HttpsServer> {
  readonly port: number;
  readonly server: S;
  /** Requests being answered. */
  inFlight(): number;
  /**
   * Stops accepting, lets in-flight requests finish (answers carry `Connection: close`), closes
   * idle connections at once and every connection after `timeoutMs`; true if all finished in time.
   */
  close(timeoutMs: number): Promise<boolean>;
}

export type RunningHttpsServer = RunningServer<HttpsServer>;

/** An HTTPS server serving `tls` (and its reloads), with slowloris limits and a graceful drain. */
export async function startHttpsServer(opts: HttpsServerOptions): Promise<RunningHttpsServer> {
  const drain = new Drain(opts.onRequest);
  const server = createHttpsServer(
    {
      ...opts.tls.pair,
      ...TLS_OPTIONS,
      ...opts.secureOptions,
      // With a client CA (tls.pair.ca), only clients with a certificate it issued get past the
      // handshake; the CA is swapped with the pair on reload.
      requestCert: opts.tls.pair.ca !== undefined,
      rejectUnauthorized: opts.tls.pair.ca !== undefined,
      // Stalled connections (slowloris) each hold a descriptor: kube-apiserver completes the
      // handshake and sends each request at once, and gives up on a webhook after at most 30 s.
      handshakeTimeout: STALL_TIMEOUT_MS,
      // How often the header and request timeouts are enforced (Node's default: every 30 s).
      connectionsCheckingInterval: 1000,
    },
    drain.handler,
  );
  server.on("tlsClientError", (e) => {
    opts.log.debug({ err: e.message }, "TLS handshake failed");
  });
  opts.tls.onChange((pair) => {
    server.setSecureContext({ ...pair, ...TLS_OPTIONS, ...opts.secureOptions });
  });
  return drain.start(server, opts);
}

export type PlainHttpServerOptions = Omit<HttpsServerOptions, "tls">;

export type RunningPlainHttpServer = RunningServer<Server>;

/**
 * The same server over plain HTTP (same limits and drain), for loopback and tests, or behind a
 * proxy that terminates TLS.
 */
export async function startPlainHttpServer(opts: PlainHttpServerOptions): Promise<RunningPlainHttpServer> {
  const drain = new Drain(opts.onRequest);
  const server = createHttpServer({ connectionsCheckingInterval: 1000 }, drain.handler);
  return drain.start(server, opts);
}

/** Counts requests in flight and closes a server gracefully. */
class Drain {
  private inFlight = 0;
  private closing = false;
  private onIdle: (() => void) | undefined;
  constructor(private readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void) {}

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    if (this.closing) res.setHeader("Connection", "close");
    res.on("close", () => {
      this.inFlight--;
      if (this.inFlight === 0) this.onIdle?.();
    });
    this.onRequest(req, res);
  };

  async start<S extends Server | HttpsServer>(
    server: S,
    opts: { port: number; host?: string | undefined; what: string; requestTimeoutMs?: number | undefined },
  ): Promise<RunningServer<S>> {
    // kube-apiserver keeps connections idle for up to 90 s; closing them first races with a new
    // request on the same connection (which then fails), so let the client close idle connections.
    // Idle keep-alive connections are not subject to the two timeouts below (they run from a
    // request's first byte), so these may be far shorter than keepAliveTimeout.
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = STALL_TIMEOUT_MS;
    server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const port = await listen(server, opts.port, opts.host, opts.what);
    let closed: Promise<boolean> | undefined;
    const close = (timeoutMs: number): Promise<boolean> => {
      closed ??= this.close(server, timeoutMs);
      return closed;
    };
    return { port, server, inFlight: () => this.inFlight, close };
  }

  private async close(server: Server | HttpsServer, timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    server.closeIdleConnections();
    const drained = new Promise<void>((resolve) => {
      if (this.inFlight === 0) resolve();
      else
        this.onIdle = () => {
          resolve();
        };
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        resolve("timeout");
      }, timeoutMs);
    });
    const inTime = (await Promise.race([drained, timeout])) !== "timeout";
    server.closeAllConnections();
    await Promise.race([stopped, timeout]);
    clearTimeout(timer);
    return inTime;
  }
}

export interface HealthServerOptions {
  readonly host?: string | undefined;
  /** 0 picks a free port. */
  readonly port: number;
  readonly readiness: Readiness;
  /** Served on /metrics when given. */
  readonly registry?: Registry;
  /** Further GET routes by path (e.g. a debug dump), each answering a JSON text. */
  readonly routes?: Readonly<Record<string, () => string>>;
}

export interface RunningHealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Plain HTTP: /healthz and /livez (alive), /readyz, /metrics (Prometheus); 404 otherwise. */
export async function startHealthServer(opts: HealthServerOptions): Promise<RunningHealthServer> {
  const { registry } = opts;
  const server: Server = createHttpServer((req, res) => {
    if (
      registry !== undefined &&
      pathOf(req) === "/metrics" &&
      (req.method === "GET" || req.method === "HEAD")
    ) {
      registry.metrics().then(
        (text) => {
          send(res, 200, text, registry.contentType);
        },
        (e: unknown) => {
          send(res, 500, errorBody("INTERNAL", String(e)));
        },
      );
      return;
    }
    const route = opts.routes?.[pathOf(req)];
    if (route !== undefined && req.method === "GET") {
      send(res, 200, route(), "application/json");
      return;
    }
    if (!healthRoute(req, res, opts.readiness)) {
      send(res, 404, errorBody("NOT_FOUND", `no handler for ${pathOf(req)}`));
    }
  });
  const port = await listen(server, opts.port, opts.host, "metrics");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
