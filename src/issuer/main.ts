/**
 * The issuer deployable's wiring: `irsa issuer sync` (once, or --watch as a controller with health
 * and metrics) and `irsa issuer serve` (the same controller publishing to a data directory, served
 * over HTTPS). Runs until SIGTERM or SIGINT.
 */
import type { TargetSpec } from "../core/issuer/targets.js";
import { isIrsaError } from "../core/errors.js";
import type { S3Options } from "../adapters/aws/s3.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import { startHealthServer, startHttpsServer } from "../runtime/http.js";
import type { Log, LogLevel } from "../runtime/log.js";
import { createLogger } from "../runtime/logger.js";
import { waitForSignal } from "../runtime/signals.js";
import { ReloadingTls } from "../runtime/tls.js";
import { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { AcmeCertificates, type AcmeSettings } from "./acme.js";
import { SyncController } from "./controller.js";
import { IssuerMetrics } from "./metrics.js";
import { documentRoute, loadServed, type ServedDocuments } from "./serve.js";
import { keyFileSource, kubeSource, type Source } from "./source.js";
import { syncTarget, type SyncResult } from "./sync.js";
import { dirTarget, openTarget, type Target } from "./target.js";

export type SourceSpec =
  | { readonly kind: "kube"; readonly kubeconfig: string | undefined; readonly kubeApi: string | undefined }
  | { readonly kind: "keys"; readonly keyFiles: readonly string[]; readonly issuer: string };

export interface SyncSettings {
  readonly source: SourceSpec;
  readonly publicIssuer: string | undefined;
  readonly retainMs: number;
  readonly intervalMs: number;
  readonly host: string | undefined;
  readonly metricsPort: number;
  readonly logLevel: LogLevel;
  /** Injected clock; Date.now by default. */
  readonly now?: () => number;
}

export interface SyncCliOptions extends SyncSettings {
  readonly targets: readonly TargetSpec[];
  readonly s3: S3Options;
  readonly watch: boolean;
}

export function openSource(spec: SourceSpec): Source {
  if (spec.kind === "keys") return keyFileSource(spec.keyFiles, spec.issuer);
  return kubeSource(loadKubeConfig(spec.kubeconfig, spec.kubeApi));
}

function summary(r: SyncResult): string {
  const what = r.written.length === 0 ? "unchanged" : `wrote ${r.written.join(", ")}`;
  const retained = r.retained.length === 0 ? "" : `, ${r.retained.length} retained`;
  const dropped = r.dropped.length === 0 ? "" : `, dropped ${r.dropped.join(", ")}`;
  return `${r.target}: ${what} (${r.published} keys${retained}${dropped})\n`;
}

/** One sync of every target; throws the first failure (after trying every target). */
async function syncOnce(
  o: SyncCliOptions,
  targets: readonly Target[],
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<number> {
  const snapshot = await openSource(o.source).read();
  let first: Error | undefined;
  for (const t of targets) {
    try {
      const r = await syncTarget(snapshot, t, {
        retainMs: o.retainMs,
        publicIssuer: o.publicIssuer,
        now: o.now ?? Date.now,
      });
      for (const p of r.recovered) err(`warning: ${isIrsaError(p) ? p.describe() : String(p)}\n`);
      for (const w of r.rewrites) err(`note: ${t.name}: rewrote ${w}\n`);
      out(summary(r));
    } catch (e) {
      first ??= e instanceof Error ? e : new Error(JSON.stringify(e));
      if (isIrsaError(e)) err(`${t.name}: ${e.describe()}\n`);
    }
  }
  if (first !== undefined) throw first;
  return 0;
}

/** Runs the controller and the health server until a signal. */
async function runController(
  s: SyncSettings,
  targets: readonly Target[],
  log: Log & { flush(): void },
  metrics: IssuerMetrics,
  extra?: { onPass?: (ok: boolean) => void; ready?: () => string | undefined; stop?: () => Promise<void> },
): Promise<number> {
  const controller = new SyncController({
    source: openSource(s.source),
    targets,
    retainMs: s.retainMs,
    publicIssuer: s.publicIssuer,
    intervalMs: s.intervalMs,
    log,
    metrics,
    now: s.now,
    onPass: (_r, ok) => extra?.onPass?.(ok),
  });
  const health = await startHealthServer({
    host: s.host,
    port: s.metricsPort,
    registry: metrics.registry,
    readiness: () => extra?.ready?.() ?? controller.readiness(),
  });
  log.info(
    {
      targets: targets.map((t) => t.name),
      intervalMs: s.intervalMs,
      retainMs: s.retainMs,
      metricsPort: health.port,
    },
    "starting",
  );
  const abort = new AbortController();
  const signal = waitForSignal(log).then(() => {
    abort.abort();
  });
  await Promise.all([controller.run(abort.signal), signal]);
  await extra?.stop?.();
  await health.close();
  for (const t of targets) t.close();
  log.flush();
  return 0;
}

export async function runSync(
  o: SyncCliOptions,
  io: { out(t: string): void; err(t: string): void },
): Promise<number> {
  const targets = o.targets.map((t) => openTarget(t, o.s3));
  if (!o.watch) {
    try {
      return await syncOnce(
        o,
        targets,
        (t) => {
          io.out(t);
        },
        (t) => {
          io.err(t);
        },
      );
    } finally {
      for (const t of targets) t.close();
    }
  }
  const log = createLogger("irsa-issuer", o.logLevel);
  return runController(o, targets, log, new IssuerMetrics());
}

export interface ServeOptions extends SyncSettings {
  readonly dataDir: string;
  readonly port: number;
  /** Certificate files, or an ACME CA that provides them. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | { readonly acme: AcmeSettings };
  readonly gracePeriodMs: number;
}

/** The certificate files to serve: given, or from ACME (ordered now when none on disk is usable). */
async function certificates(
  o: ServeOptions,
  log: Log,
  metrics: IssuerMetrics,
): Promise<{ certFile: string; keyFile: string; acme?: AcmeCertificates } | undefined> {
  if (!("acme" in o.tls)) return o.tls;
  const acme = await AcmeCertificates.start(o.tls.acme, log, metrics);
  log.info({ domain: o.tls.acme.domain, httpPort: acme.httpPort }, "ACME HTTP-01 responder listening");
  if (!acme.hasCertificate()) {
    // Nothing to serve yet: order before listening; a signal meanwhile stops it.
    const abort = new AbortController();
    const onSignal = (): void => {
      abort.abort();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    const ok = await acme.renewUntilDone(abort.signal);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    if (!ok) {
      await acme.close();
      return undefined;
    }
  }
  return { certFile: acme.certFile, keyFile: acme.keyFile, acme };
}

/** Publishes to the data directory and serves what is there (so a restart serves at once). */
export async function runServe(o: ServeOptions): Promise<number> {
  const log = createLogger("irsa-issuer", o.logLevel);
  const metrics = new IssuerMetrics();
  const target = dirTarget(o.dataDir);
  let served: ServedDocuments | undefined;
  const reload = async (): Promise<void> => {
    try {
      served = (await loadServed(target)) ?? served;
    } catch (e) {
      log.error(
        { err: (e as Error).message },
        "cannot load the published documents; serving the previous ones",
      );
    }
  };
  await reload();
  const files = await certificates(o, log, metrics);
  if (files === undefined) return 0; // stopped by a signal before a certificate was obtained
  const tls = await ReloadingTls.load({
    certFile: files.certFile,
    keyFile: files.keyFile,
    log,
    onReload: (result) => {
      metrics.tlsReloads.inc({ result });
    },
  });
  const server = await startHttpsServer({
    host: o.host,
    port: o.port,
    what: "issuer documents (HTTPS)",
    tls,
    log,
    onRequest: documentRoute(
      () => served,
      (path, code) => {
        metrics.requests.inc({ path, code: String(code) });
      },
    ),
  });
  metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
  tls.onChange((pair) => {
    metrics.certNotAfter.set(new X509Certificate(pair.cert).validToDate.getTime() / 1000);
  });
  // Never present an expired certificate: close the connection before the handshake instead.
  server.server.on("connection", (socket: Socket) => {
    if (tls.notAfter.getTime() > Date.now()) return;
    metrics.tlsRefused.inc();
    socket.destroy();
  });
  const renewing = new AbortController();
  const renewals = files.acme?.run(renewing.signal, () => tls.reload());
  log.info({ port: server.port, dataDir: o.dataDir }, "serving");
  return runController(o, [target], log, metrics, {
    onPass: () => void reload(),
    ready: () =>
      served === undefined
        ? "no documents published yet"
        : tls.notAfter.getTime() <= Date.now()
          ? "the serving certificate has expired"
          : undefined,
    stop: async () => {
      renewing.abort();
      await renewals;
      await files.acme?.close();
      await server.close(o.gracePeriodMs);
      tls.close();
    },
  });
}
