/**
 * An issuer document fetched the way AWS STS fetches it (HTTPS, no credentials, no redirects), with
 * what doctor needs to know besides the body: whether the public CAs trust the certificate or only
 * the CA of a --ca-file, and the time taken. Never
 * throws: failures come back as values.
 */
import { readFile } from "node:fs/promises";
import { get } from "node:https";
import { getCACertificates } from "node:tls";
import type { Fetch, FetchFailure } from "../../core/doctor/facts.js";

export interface ProbeOptions {
  /** A PEM file of CAs to trust besides the public ones. */
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

const ACCEPT = "application/json, application/jwk-set+json, */*;q=0.1";

function once(url: string, ca: string[] | undefined, o: ProbeOptions): Promise<Fetch> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const maxBytes = o.maxBytes ?? 1024 * 1024;
  const started = performance.now();
  return new Promise<Fetch>((resolve) => {
    const failure = (e: FetchFailure): void => {
      resolve({ ok: false, error: e });
    };
    const req = get(
      url,
      { ...(ca ? { ca } : {}), timeout: timeoutMs, headers: { accept: ACCEPT }, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy();
            failure({ kind: "http", message: `answer larger than ${maxBytes} bytes`, status });
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (status < 200 || status > 299) {
            const where =
              status >= 300 && status < 400
                ? ` (redirect to ${res.headers.location ?? "?"}; STS does not follow redirects)`
                : "";
            failure({ kind: "http", message: `HTTP ${status}${where}`, status });
            return;
          }
          resolve({
            ok: true,
            value: {
              url,
              status,
              contentType: res.headers["content-type"],
              body,
              elapsedMs: performance.now() - started,
              trust: ca === undefined ? "public" : "ca-file",
              // Taken on a connection of its own (thumbprint.ts): Node's chain here is extended from the store.
              thumbprint: undefined,
            },
          });
        });
        res.on("error", (e) => {
          failure({ kind: "network", message: e.message });
        });
      },
    );
    req.on("timeout", () => {
      req.destroy();
      failure({ kind: "network", message: `no answer within ${timeoutMs} ms` });
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      const tls = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO|VERIFY/.test(e.code ?? "");
      failure({ kind: tls ? "tls" : "network", message: `${e.code ?? ""}${e.code ? ": " : ""}${e.message}` });
    });
  });
}

/** GETs an https URL trusting the public CAs, then, on a certificate error, also the --ca-file's CA. */
export async function probeHttps(url: string, o: ProbeOptions = {}): Promise<Fetch> {
  if (!url.startsWith("https://"))
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
  return once(url, [...getCACertificates("default"), extra], o);
}
