/**
 * Fetching an issuer's documents (discovery, JWKS) as a relying party does: HTTPS only, the public
 * CAs plus an optional CA file, a timeout and a size limit, no credentials, no redirects.
 */
import { readFile } from "node:fs/promises";
import { get } from "node:https";
import { getCACertificates } from "node:tls";
import { IrsaError } from "../../core/errors.js";

export interface FetchOptions {
  /** A PEM file of CAs to trust besides the public ones. */
  readonly caFile?: string | undefined;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

export interface Fetched {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly elapsedMs: number;
}

/**
 * kube-apiserver serves the JWKS only as application/jwk-set+json and answers 406 to a request that
 * accepts application/json alone; a relying party must accept both (and anything else, as AWS's fetch seems to).
 */
const ACCEPT = "application/json, application/jwk-set+json, */*;q=0.1";

const caCache = new Map<string, string[]>();

async function trusted(caFile: string | undefined): Promise<string[] | undefined> {
  if (caFile === undefined) return undefined;
  let cas = caCache.get(caFile);
  if (cas === undefined) {
    let extra: string;
    try {
      extra = await readFile(caFile, "utf8");
    } catch (e) {
      throw new IrsaError(
        "FILE_UNREADABLE",
        `cannot read CA file ${caFile}: ${(e as Error).message}`,
        "check the caFile path",
      );
    }
    // Passing `ca` replaces Node's roots: add them back so that public issuers still verify.
    cas = [...getCACertificates("default"), extra];
    caCache.set(caFile, cas);
  }
  return cas;
}

/** GETs an https URL; throws IrsaError FETCH_FAILED saying what went wrong (never a non-2xx body). */
export async function fetchHttps(url: string, opts: FetchOptions = {}): Promise<Fetched> {
  if (!url.startsWith("https://")) {
    throw new IrsaError(
      "FETCH_FAILED",
      `${url} is not https`,
      "STS fetches discovery and JWKS over https only",
    );
  }
  const ca = await trusted(opts.caFile);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const started = performance.now();
  return new Promise<Fetched>((resolve, reject) => {
    const failed = (why: string, cause?: unknown): void => {
      reject(
        new IrsaError(
          "FETCH_FAILED",
          `GET ${url}: ${why}`,
          "check that the URL is reachable and its certificate trusted (caFile)",
          { cause },
        ),
      );
    };
    const req = get(
      url,
      { ...(ca ? { ca } : {}), timeout: timeoutMs, headers: { accept: ACCEPT } },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy();
            failed(`answer larger than ${maxBytes} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          if (status < 200 || status > 299) {
            failed(`HTTP ${status}`);
            return;
          }
          resolve({
            status,
            contentType: res.headers["content-type"],
            body: Buffer.concat(chunks).toString("utf8"),
            elapsedMs: performance.now() - started,
          });
        });
        res.on("error", (e) => {
          failed(e.message, e);
        });
      },
    );
    req.on("timeout", () => {
      req.destroy();
      failed(`no answer within ${timeoutMs} ms`);
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      failed(e.code ?? e.message, e);
    });
  });
}
