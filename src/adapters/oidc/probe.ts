/**
 * An issuer document fetched the way AWS STS fetches it (HTTPS, no credentials, no redirects), with
 * what doctor needs to know besides the body: whether the public CAs trust the certificate or only
 * the CA of a --ca-file, and the time taken. Never
 * throws: failures come back as values.
 */
import { readFile } from "node:fs/promises";
import type { Fetch, FetchFailure } from "../../core/doctor/facts.js";
import { getBounded, publicCasAnd } from "./fetch.js";

export interface ProbeOptions {
  /** A PEM file of CAs to trust besides the public ones. */
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

const failure = (error: FetchFailure): Fetch => ({ ok: false, error });

async function once(url: string, ca: string[] | undefined, o: ProbeOptions): Promise<Fetch> {
  const a = await getBounded(url, {
    ca,
    timeoutMs: o.timeoutMs ?? 5000,
    maxBytes: o.maxBytes ?? 1024 * 1024,
    ownConnection: true,
  });
  if (!a.ok) {
    if (a.error === undefined)
      return failure({
        kind: a.status === undefined ? "network" : "http",
        message: a.message,
        ...(a.status === undefined ? {} : { status: a.status }),
      });
    const code = a.error.code;
    const tls = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO|VERIFY/.test(code ?? "");
    return failure({
      kind: tls ? "tls" : "network",
      message: `${code ?? ""}${code ? ": " : ""}${a.message}`,
    });
  }
  if (a.status < 200 || a.status > 299) {
    const where =
      a.status >= 300 && a.status < 400
        ? ` (redirect to ${a.headers.location ?? "?"}; STS does not follow redirects)`
        : "";
    return failure({ kind: "http", message: `HTTP ${a.status}${where}`, status: a.status });
  }
  return {
    ok: true,
    value: {
      url,
      status: a.status,
      contentType: a.headers["content-type"],
      body: a.body,
      elapsedMs: a.elapsedMs,
      trust: ca === undefined ? "public" : "ca-file",
      // Taken on a connection of its own (thumbprint.ts): Node's chain here is extended from the store.
      thumbprint: undefined,
    },
  };
}

/** GETs an https URL trusting the public CAs, then, on a certificate error, also the --ca-file's CA. */
export async function probeHttps(url: string, o: ProbeOptions = {}): Promise<Fetch> {
  if (!/^https:\/\//i.test(url))
    return { ok: false, error: { kind: "network", message: `${url} is not https` } };
  const first = await once(url, undefined, o);
  if (first.ok || first.error.kind !== "tls" || o.caFile === undefined) return first;
  let extra: string;
  try {
    extra = await readFile(o.caFile, "utf8");
  } catch (e) {
    return {
      ok: false,
      error: {
        kind: "tls",
        message: `${first.error.message}; and --ca-file ${o.caFile} is unreadable: ${(e as Error).message}`,
      },
    };
  }
  return once(url, publicCasAnd(extra), o);
}
