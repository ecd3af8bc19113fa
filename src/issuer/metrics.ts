/** The issuer's Prometheus metrics, on their own registry. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

export class IssuerMetrics {
  readonly registry: Registry;
  readonly syncs: Counter<"target" | "result">;
  readonly errors: Counter<"kind">;
  readonly lastSuccess: Gauge<"target">;
  readonly keysPublished: Gauge<"target">;
  readonly keysRetained: Gauge<"target">;
  readonly writes: Counter<"target" | "object">;
  readonly conflicts: Counter<"target">;
  readonly requests: Counter<"path" | "code">;
  readonly tlsReloads: Counter<"result">;
  readonly acmeOrders: Counter<"result">;
  readonly certNotAfter: Gauge;
  readonly tlsRefused: Counter;

  constructor(registry = new Registry(), defaultMetrics = true) {
    this.registry = registry;
    const registers = [registry];
    this.syncs = new Counter({
      name: "irsa_issuer_syncs_total",
      help: "Syncs of a target, by result (written, unchanged, error).",
      labelNames: ["target", "result"],
      registers,
    });
    this.errors = new Counter({
      name: "irsa_issuer_errors_total",
      help: "Errors by kind (source_unreachable, source_invalid, issuer_mismatch, target_unreachable, target_write_refused, target_verify_failed, state_invalid, ...).",
      labelNames: ["kind"],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: "irsa_issuer_last_success_timestamp_seconds",
      help: "Unix time of the last sync that left the target current.",
      labelNames: ["target"],
      registers,
    });
    this.keysPublished = new Gauge({
      name: "irsa_issuer_keys_published",
      help: "Keys in the published JWKS (the source's plus the retained ones).",
      labelNames: ["target"],
      registers,
    });
    this.keysRetained = new Gauge({
      name: "irsa_issuer_keys_retained",
      help: "Published keys that have left the source and are kept until --retain passes.",
      labelNames: ["target"],
      registers,
    });
    this.writes = new Counter({
      name: "irsa_issuer_object_writes_total",
      help: "Objects written and verified, by target and object.",
      labelNames: ["target", "object"],
      registers,
    });
    this.conflicts = new Counter({
      name: "irsa_issuer_write_conflicts_total",
      help: "Conditional writes refused because another replica wrote first; each sync then starts over from what it wrote.",
      labelNames: ["target"],
      registers,
    });
    this.requests = new Counter({
      name: "irsa_issuer_http_requests_total",
      help: "Requests answered by irsa issuer serve, by path (or other) and status code.",
      labelNames: ["path", "code"],
      registers,
    });
    this.tlsReloads = new Counter({
      name: "irsa_issuer_tls_reloads_total",
      help: "Serving certificate reloads from disk, by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.acmeOrders = new Counter({
      name: "irsa_issuer_acme_orders_total",
      help: "ACME certificate orders (--acme-domain), by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.certNotAfter = new Gauge({
      name: "irsa_issuer_certificate_not_after_timestamp_seconds",
      help: "Unix time the serving certificate expires.",
      registers,
    });
    this.tlsRefused = new Counter({
      name: "irsa_issuer_connections_refused_expired_total",
      help: "HTTPS connections closed before the handshake because the certificate had expired (none is ever presented).",
      registers,
    });
    if (defaultMetrics) collectDefaultMetrics({ register: registry });
  }
}
