/**
 * `irsa issuer serve --acme-domain`: its own certificate from an ACME CA. The account key, the
 * certificate and its key live in --acme-dir (written atomically, mode 0600), so a restart reuses
 * them; HTTP-01 tokens are answered on --acme-http-port (80 by default, where the CA connects).
 * The certificate is renewed at two thirds of its lifetime, retried with backoff on failure; the
 * HTTPS side serves it through ReloadingTls, which never loads an expired pair.
 */
import { createServer, type Server } from "node:http";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { IrsaError, isIrsaError } from "../core/errors.js";
import { renewAt } from "../core/issuer/renewal.js";
import { HTTP01_PREFIX, newAccountKey, orderCertificate } from "../adapters/acme/client.js";
import { exists, readTextFile, writeFileAtomic } from "../adapters/files.js";
import { Backoff } from "../runtime/backoff.js";
import { listen, pathOf, send } from "../runtime/http.js";
import type { Log } from "../runtime/log.js";
import { sleep, sleepUntil } from "../runtime/signals.js";
import { readTlsPair, type LoadedTlsPair } from "../runtime/tls.js";
import type { IssuerMetrics } from "./metrics.js";

export interface AcmeSettings {
  readonly domain: string;
  readonly email: string;
  readonly directoryUrl: string;
  /** PEM file of CAs to trust for the directory's HTTPS (a private ACME server such as Pebble). */
  readonly caFile: string | undefined;
  /** Where the CA's HTTP-01 validation connects; 80 in production. */
  readonly httpPort: number;
  readonly host: string | undefined;
  /** The account key, certificate and key, 0600. */
  readonly dir: string;
}

/** The first retry of a failed order; doubling up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 10 * 60_000;

export class AcmeCertificates {
  readonly certFile: string;
  readonly keyFile: string;
  private readonly accountKeyFile: string;
  private readonly backoff = new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
  private current: LoadedTlsPair | undefined;
  private caPem: string | undefined;

  private constructor(
    private readonly s: AcmeSettings,
    private readonly log: Log,
    private readonly metrics: IssuerMetrics,
    private readonly http: Server,
    /** HTTP-01 token → key authorization, shared with the responder. */
    private readonly tokens: Map<string, string>,
    readonly httpPort: number,
  ) {
    this.certFile = join(s.dir, "cert.pem");
    this.keyFile = join(s.dir, "key.pem");
    this.accountKeyFile = join(s.dir, "account.key");
  }

  /** Starts the HTTP-01 responder and loads the certificate on disk, if any and still valid. */
  static async start(s: AcmeSettings, log: Log, metrics: IssuerMetrics): Promise<AcmeCertificates> {
    const tokens = new Map<string, string>();
    const http = createServer((req, res) => {
      const path = pathOf(req);
      const keyAuth = path.startsWith(HTTP01_PREFIX)
        ? tokens.get(path.slice(HTTP01_PREFIX.length))
        : undefined;
      if (keyAuth === undefined) {
        send(res, 404, "not found\n", "text/plain");
        return;
      }
      send(res, 200, keyAuth, "application/octet-stream");
    });
    const port = await listen(http, s.httpPort, s.host, "ACME HTTP-01 challenges");
    const a = new AcmeCertificates(s, log, metrics, http, tokens, port);
    await mkdir(s.dir, { recursive: true, mode: 0o700 });
    if (s.caFile !== undefined) a.caPem = await readTextFile(s.caFile, "ACME CA file (--acme-ca-file)");
    a.current = await readTlsPair({ certFile: a.certFile, keyFile: a.keyFile }).catch((e: unknown) => {
      if (isIrsaError(e) && e.code !== "FILE_UNREADABLE") {
        log.warn({ err: e.message }, "the certificate on disk is not usable; ordering a new one");
      }
      return undefined;
    });
    if (a.current !== undefined) a.observe(a.current);
    return a;
  }

  /** Whether a valid certificate is on disk (one that may be due for renewal, but not expired). */
  hasCertificate(): boolean {
    return this.current !== undefined && this.current.notAfter.getTime() > Date.now();
  }

  /** When the current certificate is due for renewal (now if there is none). */
  dueAt(): number {
    return this.current === undefined ? 0 : renewAt(this.current.notBefore, this.current.notAfter);
  }

  private observe(pair: LoadedTlsPair): void {
    this.metrics.certNotAfter.set(pair.notAfter.getTime() / 1000);
  }

  private async accountKey(): Promise<string> {
    if (await exists(this.accountKeyFile)) return readTextFile(this.accountKeyFile, "ACME account key");
    const key = await newAccountKey();
    await writeFileAtomic(this.accountKeyFile, key, 0o600);
    this.log.info({ file: this.accountKeyFile }, "ACME account key created");
    return key;
  }

  /** One order; on success the new pair is on disk (key first, then the certificate). */
  async renew(): Promise<LoadedTlsPair> {
    const t0 = Date.now();
    try {
      const ordered = await orderCertificate({
        directoryUrl: this.s.directoryUrl,
        caPem: this.caPem,
        accountKey: await this.accountKey(),
        email: this.s.email,
        domain: this.s.domain,
        http01: {
          put: (token, keyAuth) => this.tokens.set(token, keyAuth),
          remove: (token) => this.tokens.delete(token),
        },
      });
      await writeFileAtomic(this.keyFile, ordered.key, 0o600);
      await writeFileAtomic(this.certFile, ordered.cert, 0o600);
      const pair = await readTlsPair({ certFile: this.certFile, keyFile: this.keyFile });
      this.current = pair;
      this.observe(pair);
      this.metrics.acmeOrders.inc({ result: "ok" });
      this.log.info(
        {
          domain: this.s.domain,
          notBefore: pair.notBefore.toISOString(),
          notAfter: pair.notAfter.toISOString(),
          renewAt: new Date(this.dueAt()).toISOString(),
          ms: Date.now() - t0,
        },
        "ACME certificate obtained",
      );
      return pair;
    } catch (e) {
      this.metrics.acmeOrders.inc({ result: "error" });
      throw isIrsaError(e)
        ? e
        : new IrsaError("ACME_FAILED", `ACME order for ${this.s.domain} failed: ${String(e)}`, undefined, {
            cause: e,
          });
    }
  }

  /** Orders until one succeeds (backoff between failures); false if `signal` aborted first. */
  async renewUntilDone(signal: AbortSignal): Promise<boolean> {
    let lastError = "";
    while (!signal.aborted) {
      try {
        await this.renew();
        this.backoff.reset();
        return true;
      } catch (e) {
        const msg = isIrsaError(e) ? e.describe() : String(e);
        if (msg !== lastError) this.log.error({ err: msg }, "ACME order failed; retrying with backoff");
        lastError = msg;
        await sleep(this.backoff.next(), signal);
      }
    }
    return false;
  }

  /** Renews at two thirds of each certificate's lifetime until `signal` aborts. */
  async run(signal: AbortSignal, onRenewed: () => Promise<unknown>): Promise<void> {
    while (!signal.aborted) {
      // A Let's Encrypt certificate is due 60 days on: longer than one timer holds.
      await sleepUntil(this.dueAt(), signal);
      // renewUntilDone returns false at once when the wait ended by abort.
      if (await this.renewUntilDone(signal)) await onRenewed();
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => {
        resolve();
      });
      this.http.closeAllConnections();
    });
  }
}
