/**
 * `irsa webhook --self-signed-tls`: the webhook keeps its own CA and serving certificate in one
 * Secret, patches the CA bundle into its own MutatingWebhookConfiguration, and serves the
 * certificate from memory, swapping it without a restart. Every replica runs the same pass
 * (read, decide, write if needed, patch, serve): the first Secret created wins (409 AlreadyExists
 * for the others), an update is guarded by resourceVersion (409 Conflict for a stale one), and a
 * replica that lost re-reads and serves what won. The pass repeats every resync period; SIGHUP
 * forces a renewal of the serving certificate.
 */
import { readFile } from "node:fs/promises";
import { IrsaError, isIrsaError } from "../core/errors.js";
import { bundleAfterRotation, caBundlePatch, decideTls, type TlsDecision } from "../core/tls/managed.js";
import type { SecretWrite, TlsObjects } from "../adapters/kubernetes/tls-secret.js";
import {
  CA_ADDED_AT_ANNOTATION,
  CA_CERT_KEY,
  CA_KEY_KEY,
  CERT_KEY,
  KEY_KEY,
  newManagedCa,
  newServingCert,
  parseManagedTls,
  type ParsedManagedTls,
  type ServingNames,
} from "../adapters/pki/managed.js";
import type { Log } from "../runtime/log.js";
import { ReloadingTls, type MemoryTlsOptions, type TlsPair } from "../runtime/tls.js";

export interface ManagedTlsOptions {
  readonly objects: TlsObjects;
  readonly names: ServingNames;
  /** The serving certificate's CN (the CA's is "<CN> CA"). */
  readonly commonName: string;
  /** What the Secret and configuration are called, for log lines. */
  readonly where: { readonly secret: string; readonly webhookConfig: string };
  /** How often the pass repeats (picks up another replica's renewal, renews when due). */
  readonly resyncMs: number;
  /** See TlsPolicy.caPropagationMs. */
  readonly caPropagationMs: number;
  /** --client-ca-file: re-read every pass and served with the pair. */
  readonly clientCaFile?: string | undefined;
  readonly log: Log;
  readonly now?: () => number;
}

/** Passes that end in a lost race or a failed write before one gives up until the next resync. */
const MAX_ATTEMPTS = 5;
/** A new Secret gets this type (tls.crt and tls.key as cert-manager and kubectl write them). */
const SECRET_TYPE = "kubernetes.io/tls";

export class ManagedTls {
  private tls: ReloadingTls | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private forceNext = false;
  private closed = false;

  constructor(private readonly o: ManagedTlsOptions) {}

  /**
   * Runs the first pass (retrying while the API server answers errors) and returns the pair to
   * serve; later passes swap it. Rejects (IrsaError) when no usable pair was reached.
   */
  async start(hooks: MemoryTlsOptions): Promise<ReloadingTls> {
    const pair = await this.pass(false);
    this.tls = ReloadingTls.inMemory(pair, hooks);
    this.timer = setInterval(() => void this.resync(), this.o.resyncMs);
    this.timer.unref();
    return this.tls;
  }

  /** Renews the serving certificate now (SIGHUP); resolves when the pass is done. */
  renewNow(): Promise<void> {
    this.forceNext = true;
    return this.resync();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** One pass at a time; a pass asked for while one runs follows it. */
  private resync(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      const force = this.forceNext;
      this.forceNext = false;
      try {
        const pair = await this.pass(force);
        await this.tls?.set(pair);
      } catch (e) {
        if (force) this.forceNext = true;
        this.o.log.error(
          { err: isIrsaError(e) ? e.describe() : String(e) },
          "self-signed TLS pass failed; serving the current certificate, retrying at the next resync",
        );
      }
    };
    const next = (this.running ?? Promise.resolve()).then(run);
    this.running = next;
    return next;
  }

  private async pass(force: boolean): Promise<TlsPair> {
    const { objects, log } = this.o;
    const now = this.o.now ?? Date.now;
    let lastReason = "";
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const secret = await objects.readSecret();
      const parsed = parseManagedTls(secret?.data, secret?.annotations ?? {}, this.o.names);
      const d = decideTls(parsed.stored, now(), {
        caPropagationMs: this.o.caPropagationMs,
        forceLeaf: force,
      });
      if (d.action === "keep") {
        if (d.reason !== "current") log.info({ secret: this.o.where.secret, why: d.reason }, "TLS kept");
        await this.publishCaBundle(parsed);
        const ca = this.o.clientCaFile === undefined ? undefined : await readFile(this.o.clientCaFile);
        return {
          cert: Buffer.from(parsed.certPem),
          key: Buffer.from(parsed.keyPem),
          ...(ca !== undefined && { ca }),
        };
      }
      const w = await this.write(d, parsed, secret?.annotations ?? {}, new Date(now()));
      const outcome =
        secret === undefined
          ? await objects.createSecret(w)
          : await objects.updateSecret(secret.resourceVersion, { ...w, type: secret.type });
      log.info(
        { secret: this.o.where.secret, action: d.action, why: d.reason, outcome },
        outcome === "written"
          ? "TLS Secret written"
          : "TLS Secret written by another replica first; adopting it",
      );
      // Written or lost: either way the next read holds what to serve, and a forced renewal that
      // lost to another writer counts as done (that writer renewed).
      force = false;
      lastReason = d.reason;
    }
    throw new IrsaError(
      "KUBE_API_UNEXPECTED",
      `the TLS Secret ${this.o.where.secret} changed under every one of ${MAX_ATTEMPTS} attempts (last: ${lastReason})`,
      "check that no other controller (cert-manager, a GitOps tool) writes the same Secret",
    );
  }

  /** The Secret's next content for decision `d`. */
  private async write(
    d: TlsDecision,
    parsed: ParsedManagedTls,
    annotations: Readonly<Record<string, string>>,
    now: Date,
  ): Promise<SecretWrite> {
    const { names, commonName } = this.o;
    const kept = Object.fromEntries(
      Object.entries(annotations).filter(([k]) => k !== CA_ADDED_AT_ANNOTATION),
    );
    if (d.action === "create" || d.action === "recreate") {
      // No previous certificate is served from this Secret's CA, so nothing waits for propagation.
      const ca = await newManagedCa(commonName);
      const leaf = await newServingCert(ca, commonName, names);
      return {
        type: SECRET_TYPE,
        annotations: kept,
        data: {
          [CA_CERT_KEY]: ca.certPem,
          [CA_KEY_KEY]: ca.keyPem,
          [CERT_KEY]: leaf.certPem,
          [KEY_KEY]: leaf.keyPem,
        },
      };
    }
    if (d.action === "rotate-ca") {
      const ca = await newManagedCa(commonName);
      const older = bundleAfterRotation(parsed.cas, now.getTime()).map((c) => c.pem);
      return {
        type: SECRET_TYPE,
        annotations: { ...kept, [CA_ADDED_AT_ANNOTATION]: now.toISOString() },
        data: {
          [CA_CERT_KEY]: [ca.certPem, ...older].join(""),
          [CA_KEY_KEY]: ca.keyPem,
          [CERT_KEY]: parsed.certPem,
          [KEY_KEY]: parsed.keyPem,
        },
      };
    }
    const signer = { certPem: parsed.cas[0]?.pem ?? "", keyPem: parsed.caKeyPem };
    const leaf = await newServingCert(signer, commonName, names);
    return {
      type: SECRET_TYPE,
      annotations: { ...annotations },
      data: {
        [CA_CERT_KEY]: parsed.cas.map((c) => c.pem).join(""),
        [CA_KEY_KEY]: parsed.caKeyPem,
        [CERT_KEY]: leaf.certPem,
        [KEY_KEY]: leaf.keyPem,
      },
    };
  }

  /** Makes every webhook of the configuration trust the Secret's CA bundle. */
  private async publishCaBundle(parsed: ParsedManagedTls): Promise<void> {
    const { objects, log, where } = this.o;
    const bundle = Buffer.from(parsed.cas.map((c) => c.pem).join("")).toString("base64");
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const config = await objects.readWebhookConfig();
      if (config === undefined || config.caBundles.length === 0) {
        log.warn(
          { webhookConfig: where.webhookConfig },
          "MutatingWebhookConfiguration not found (or without webhooks): caBundle not patched; retrying at the next resync",
        );
        return;
      }
      const ops = caBundlePatch(config, bundle);
      if (ops.length === 0) return;
      const outcome = await objects.patchWebhookConfig(ops);
      log.info({ webhookConfig: where.webhookConfig, outcome }, "caBundle patched");
      if (outcome === "written") return;
    }
    throw new IrsaError(
      "KUBE_API_UNEXPECTED",
      `MutatingWebhookConfiguration ${where.webhookConfig} changed under every one of ${MAX_ATTEMPTS} caBundle patches`,
      "check that no other controller (cert-manager's cainjector, a GitOps tool) sets its caBundle",
    );
  }
}
