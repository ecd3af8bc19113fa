/**
 * The STS deployable's wiring: config (reloaded when its files change; a bad new one is logged and
 * the old one kept), issuer keys, the Query API over HTTPS or plain HTTP, the health server; runs
 * until SIGTERM or SIGINT, then drains and stops.
 */
import { randomBytes } from "node:crypto";
import type { StsConfig } from "../core/sts/config.js";
import { IssuedStore, type StsService } from "../core/sts/query.js";
import { IssuerKeyResolver } from "../adapters/oidc/keys.js";
import { startHealthServer, startHttpsServer, startPlainHttpServer } from "../runtime/http.js";
import type { Log, LogLevel } from "../runtime/log.js";
import { createLogger } from "../runtime/logger.js";
import { waitForSignal } from "../runtime/signals.js";
import { ReloadingTls } from "../runtime/tls.js";
import { watchFiles } from "../runtime/watch.js";
import { loadStsConfig, type LoadedStsConfig } from "../adapters/sts/config.js";
import { stsHandler } from "./server.js";

export interface StsOptions {
  readonly configFile: string;
  readonly host: string | undefined;
  readonly port: number;
  /** Health and readiness (plain HTTP); undefined: none. */
  readonly healthPort: number | undefined;
  /** Both or neither: HTTPS, else plain HTTP. */
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly jwksTtlMs: number;
  /** Least time between two fetches of one issuer's keys (an unknown kid refetches); default 10 s. */
  readonly jwksMinRefetchMs?: number;
  readonly clockSkewSeconds: number;
  readonly logLevel: LogLevel;
  /** Called once listening, with the port (tests, the local stack). */
  readonly onListening?: (port: number) => void;
}

export interface RunningSts {
  readonly port: number;
  close(): Promise<void>;
}

function resolverFor(loaded: LoadedStsConfig, o: StsOptions, log: Log): IssuerKeyResolver {
  return new IssuerKeyResolver({
    staticKeys: loaded.staticKeys,
    ttlMs: o.jwksTtlMs,
    minRefetchMs: o.jwksMinRefetchMs,
    log,
  });
}

/** Starts the STS; resolves once it listens. Rejects (IrsaError) on a bad config or port. */
export async function startSts(o: StsOptions, log: Log): Promise<RunningSts> {
  let loaded = await loadStsConfig(o.configFile);
  let resolver = resolverFor(loaded, o, log);
  const svc: StsService = {
    config: (): StsConfig => loaded.config,
    get resolver() {
      return resolver;
    },
    issued: new IssuedStore(),
    now: Date.now,
    random: (n) => randomBytes(n),
    checkOptions: { clockSkewSeconds: o.clockSkewSeconds },
  };
  const reload = async (): Promise<void> => {
    try {
      const next = await loadStsConfig(o.configFile);
      if (JSON.stringify(next.files) !== JSON.stringify(loaded.files) || configChanged(loaded, next)) {
        loaded = next;
        resolver = resolverFor(next, o, log);
        watcher.close();
        watcher = watchFiles(loaded.files, reload, log);
        log.info(
          { providers: next.config.providers.length, roles: next.config.roles.length },
          "config reloaded",
        );
      }
    } catch (e) {
      log.error({ err: (e as Error).message }, "config not reloaded: keeping the previous one");
    }
  };
  let watcher = watchFiles(loaded.files, reload, log);
  const handler = stsHandler(svc, log);
  const what = "STS";
  let server;
  let tls: ReloadingTls | undefined;
  try {
    if (o.tlsCertFile !== undefined && o.tlsKeyFile !== undefined) {
      tls = await ReloadingTls.load({ certFile: o.tlsCertFile, keyFile: o.tlsKeyFile, log });
      server = await startHttpsServer({
        host: o.host,
        port: o.port,
        what: `${what} (HTTPS)`,
        tls,
        log,
        onRequest: handler,
      });
    } else {
      server = await startPlainHttpServer({
        host: o.host,
        port: o.port,
        what: `${what} (HTTP)`,
        log,
        onRequest: handler,
      });
    }
  } catch (e) {
    watcher.close();
    tls?.close();
    throw e;
  }
  const health =
    o.healthPort === undefined
      ? undefined
      : await startHealthServer({ host: o.host, port: o.healthPort, readiness: () => undefined });
  log.info(
    {
      port: server.port,
      tls: o.tlsCertFile !== undefined,
      providers: loaded.config.providers.map((p) => p.issuer),
      roles: loaded.config.roles.map((r) => r.arn.text),
    },
    "listening",
  );
  o.onListening?.(server.port);
  return {
    port: server.port,
    async close() {
      watcher.close();
      tls?.close();
      await server.close(10_000);
      await health?.close();
    },
  };
}

/** Whether a reload brings anything new (config text, trust policies or keys). */
function configChanged(a: LoadedStsConfig, b: LoadedStsConfig): boolean {
  const shape = (l: LoadedStsConfig): string =>
    JSON.stringify({
      p: l.config.providers,
      r: l.config.roles.map((r) => ({ ...r, arn: r.arn.text })),
      k: [...l.staticKeys].map(([i, s]) => [i, s.keys.map((k) => k.key.export({ format: "jwk" }))]),
    });
  return shape(a) !== shape(b);
}

/** Runs the STS until a signal; resolves with the exit code. */
export async function runSts(o: StsOptions): Promise<number> {
  const log = createLogger("irsa-sts", o.logLevel);
  const signal = waitForSignal(log);
  const sts = await startSts(o, log);
  await signal;
  await sts.close();
  log.flush();
  return 0;
}
