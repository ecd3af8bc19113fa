/**
 * A serving certificate and key from files: checked when loaded (the key must match the
 * certificate), and re-read when they change on disk. A bad new pair is logged once and counted,
 * and the old pair keeps being served.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { IrsaError, isIrsaError } from "../core/errors.js";
import type { Log } from "./log.js";
import { watchFiles } from "./watch.js";

export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA certificates a client certificate must chain to; when set, one is required. */
  readonly ca?: Buffer;
}

/** A checked pair and its first (leaf) certificate's validity. */
export interface LoadedTlsPair extends TlsPair {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** What every server of ours accepts: TLS 1.2 and newer. */
export const TLS_OPTIONS = { minVersion: "TLSv1.2" } as const satisfies SecureContextOptions;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM CA bundle: clients must present a certificate it issued; read and reloaded with the pair. */
  readonly caFile?: string | undefined;
  /** Flag names for error hints; default --tls-cert, --tls-key and --client-ca-file. */
  readonly certFlag?: string;
  readonly keyFlag?: string;
  readonly caFlag?: string;
}

/**
 * Reads and checks the pair: the key must match the certificate, and the certificate must be valid
 * at `now` (a client refuses an expired one, and kube-apiserver then fails open: pods are admitted
 * without credentials). Throws IrsaError FILE_UNREADABLE, TLS_INVALID, TLS_EXPIRED or TLS_NOT_YET_VALID.
 */
export async function readTlsPair(files: TlsFiles, now: Date = new Date()): Promise<LoadedTlsPair> {
  const read = async (path: string, what: string, flag: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new IrsaError(
        "FILE_UNREADABLE",
        `cannot read TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        `check ${flag}`,
        { cause: e },
      );
    }
  };
  const cert = await read(files.certFile, "certificate", files.certFlag ?? "--tls-cert");
  const key = await read(files.keyFile, "key", files.keyFlag ?? "--tls-key");
  const ca =
    files.caFile === undefined
      ? undefined
      : await read(files.caFile, "client CA", files.caFlag ?? "--client-ca-file");
  if (ca !== undefined && files.caFile !== undefined) checkCa(ca, files.caFile);
  return checkTlsPair(
    { cert, key, ...(ca !== undefined && { ca }) },
    {
      cert: `TLS certificate ${files.certFile}`,
      pair: `TLS certificate ${files.certFile} and key ${files.keyFile}`,
    },
    now,
  );
}

/**
 * Checks a pair held in memory: the key must match the certificate, which must be valid at `now`.
 * `where` names it in errors. Throws IrsaError TLS_INVALID, TLS_EXPIRED or TLS_NOT_YET_VALID.
 */
export function checkTlsPair(
  pair: TlsPair,
  where: { readonly cert: string; readonly pair: string } = {
    cert: "TLS certificate",
    pair: "TLS certificate and key",
  },
  now: Date = new Date(),
): LoadedTlsPair {
  const { cert, key, ca } = pair;
  try {
    createSecureContext({ cert, key, ...TLS_OPTIONS });
  } catch (e) {
    throw new IrsaError(
      "TLS_INVALID",
      `${where.pair} do not form a usable pair: ${(e as Error).message}`,
      "give a PEM certificate (chain) and the PEM private key that matches it",
      { cause: e },
    );
  }
  const leaf = new X509Certificate(cert);
  const { validFromDate: notBefore, validToDate: notAfter } = leaf;
  if (now.getTime() > notAfter.getTime()) {
    throw new IrsaError(
      "TLS_EXPIRED",
      `${where.cert} expired at ${notAfter.toISOString()} (subject ${leaf.subject.replace(/\n/g, ", ")})`,
      "renew the certificate (cert-manager, or irsa's own), then it is picked up without a restart",
    );
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new IrsaError(
      "TLS_NOT_YET_VALID",
      `${where.cert} is not valid before ${notBefore.toISOString()}`,
      "check the clock of this machine and of the issuer of the certificate",
    );
  }
  return { cert, key, ...(ca !== undefined && { ca }), notBefore, notAfter };
}

/** The CA bundle must hold at least one PEM certificate, each of them parsable. */
function checkCa(ca: Buffer, file: string): void {
  const blocks =
    ca.toString("latin1").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error("no PEM certificate in it");
    for (const b of blocks) new X509Certificate(b);
    createSecureContext({ ca, ...TLS_OPTIONS });
  } catch (e) {
    throw new IrsaError(
      "TLS_INVALID",
      `client CA file ${file} is not a usable PEM CA bundle: ${(e as Error).message}`,
      "give the PEM certificate of the CA that issued the client certificate kube-apiserver presents",
      { cause: e },
    );
  }
}

/** Subject, expiry and fingerprint of the first certificate, for log lines; empty if unparsable. */
export function certSummary(cert: Buffer): Record<string, string> {
  try {
    const x = new X509Certificate(cert);
    return { subject: x.subject.replace(/\n/g, ", "), notAfter: x.validTo, sha256: x.fingerprint256 };
  } catch {
    return {};
  }
}

export interface ReloadingTlsOptions extends TlsFiles {
  readonly log: Log;
  /** Re-read the files this often even without a file event (default 10 s). */
  readonly pollIntervalMs?: number;
  /** Called once per reload that swapped the pair ("ok") or first rejected a new one ("error"). */
  readonly onReload?: (result: "ok" | "error") => void;
  /** The clock validity is checked against; default the system clock. */
  readonly now?: () => Date;
}

/** What a ReloadingTls held in memory (no files) needs. */
export interface MemoryTlsOptions {
  readonly log: Log;
  readonly onReload?: (result: "ok" | "error") => void;
  readonly now?: () => Date;
}

/**
 * The pair being served, kept current from its files (load) or set by its owner (inMemory: e.g.
 * the webhook's own certificate, kept in a Secret).
 */
export class ReloadingTls {
  private current: LoadedTlsPair;
  private digest: string;
  private lastFailure = "";
  private reloading: Promise<boolean> | undefined;
  private readonly appliers: ((pair: TlsPair) => void)[] = [];
  private watcher: { close(): void } | undefined;

  private constructor(
    private readonly opts: MemoryTlsOptions,
    /** Reads and checks the next pair; undefined for a pair held in memory. */
    private readonly read: (() => Promise<LoadedTlsPair>) | undefined,
    first: LoadedTlsPair,
  ) {
    this.current = first;
    this.digest = digestOf(first);
  }

  /** Loads the pair (throws IrsaError if unusable) and starts watching its files. */
  static async load(opts: ReloadingTlsOptions): Promise<ReloadingTls> {
    const read = (): Promise<LoadedTlsPair> => readTlsPair(opts, opts.now?.());
    const tls = new ReloadingTls(opts, read, await read());
    tls.watcher = watchFiles(
      [opts.certFile, opts.keyFile, ...(opts.caFile === undefined ? [] : [opts.caFile])],
      () => tls.reload(),
      opts.log,
      opts.pollIntervalMs,
    );
    return tls;
  }

  /** A pair held in memory, swapped by set(). Throws IrsaError if `pair` is unusable. */
  static inMemory(pair: TlsPair, opts: MemoryTlsOptions): ReloadingTls {
    return new ReloadingTls(opts, undefined, checkTlsPair(pair, undefined, opts.now?.()));
  }

  get pair(): TlsPair {
    const { cert, key, ca } = this.current;
    return ca === undefined ? { cert, key } : { cert, key, ca };
  }

  /** When the certificate being served expires. */
  get notAfter(): Date {
    return this.current.notAfter;
  }

  /** `apply` is called with every new pair (e.g. `server.setSecureContext`). */
  onChange(apply: (pair: TlsPair) => void): void {
    this.appliers.push(apply);
  }

  /** Re-reads the files now; true if a new pair is being served. Concurrent calls share one read. */
  reload(): Promise<boolean> {
    const read = this.read;
    if (read === undefined) return Promise.resolve(false);
    this.reloading ??= this.swap(read).finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /**
   * Serves `pair` from now on (new connections); true if it differs from the current one. An
   * unusable pair is logged, counted and refused (false): the current one stays.
   */
  set(pair: TlsPair): Promise<boolean> {
    return this.swap(() => Promise.resolve(checkTlsPair(pair, undefined, this.opts.now?.())));
  }

  close(): void {
    this.watcher?.close();
  }

  private async swap(read: () => Promise<LoadedTlsPair>): Promise<boolean> {
    const { log, onReload } = this.opts;
    let next: LoadedTlsPair;
    try {
      next = await read();
    } catch (e) {
      const msg = isIrsaError(e) ? e.message : String(e);
      if (msg !== this.lastFailure) {
        this.lastFailure = msg;
        onReload?.("error");
        log.error({ err: msg }, "new TLS certificate or key rejected; still serving the previous pair");
      }
      return false;
    }
    const d = digestOf(next);
    if (d === this.digest) return false;
    this.current = next;
    for (const apply of this.appliers) apply(this.pair);
    this.digest = d;
    this.lastFailure = "";
    onReload?.("ok");
    log.info(certSummary(next.cert), "TLS certificate reloaded");
    return true;
  }
}

function digestOf(p: TlsPair): string {
  return createHash("sha256")
    .update(p.cert)
    .update("\0")
    .update(p.key)
    .update("\0")
    .update(p.ca ?? "")
    .digest("hex");
}
