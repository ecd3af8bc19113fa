/**
 * Fetching an issuer's documents (discovery, JWKS) as a relying party does: HTTPS only, the public
 * CAs plus an optional CA file, a timeout and a size limit, no credentials, no redirects.
 */
import { readFile } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
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

/** Node's public roots and `pem`: passing `ca` replaces Node's roots, so public issuers still verify. */
export function publicCasAnd(pem: string): string[] {
  return [...getCACertificates("default"), pem];
}

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
    cas = publicCasAnd(extra);
    caCache.set(caFile, cas);
  }
  return cas;
}

export interface GetLimits {
  /** The CAs to trust; undefined: Node's public roots. */
  readonly ca: string[] | undefined;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** A connection of its own, not one from the shared agent's pool. */
  readonly ownConnection?: boolean;
}

/** A bounded GET's outcome: the whole answer, whatever its status, or why there was none. */
export type Answer =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body: string;
      readonly elapsedMs: number;
    }
  | {
      readonly ok: false;
      /** The error of the request or the response; undefined for the size and time limits. */
      readonly error: NodeJS.ErrnoException | undefined;
      readonly message: string;
      /** The status, when the answer had begun. */
      readonly status?: number;
    };

/**
 * GETs `url` with a time and size limit and no redirects, accepting JSON and JWKS; never throws.
 * The shared part of fetchHttps and doctor's probe (probe.ts), which say the outcome differently.
 */
export function getBounded(url: string, limits: GetLimits): Promise<Answer> {
  const started = performance.now();
  return new Promise<Answer>((resolve) => {
    const failed = (message: string, error?: NodeJS.ErrnoException, status?: number): void => {
      resolve({ ok: false, error, message, ...(status === undefined ? {} : { status }) });
    };
    const req = get(
      url,
      {
        ...(limits.ca ? { ca: limits.ca } : {}),
        timeout: limits.timeoutMs,
        headers: { accept: ACCEPT },
        ...(limits.ownConnection === true ? { agent: false } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > limits.maxBytes) {
            req.destroy();
            failed(`answer larger than ${limits.maxBytes} bytes`, undefined, status);
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          resolve({
            ok: true,
            status,
            headers: res.headers,
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
      failed(`no answer within ${limits.timeoutMs} ms`);
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      failed(e.message, e);
    });
  });
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
  const a = await getBounded(url, {
    ca: await trusted(opts.caFile),
    timeoutMs: opts.timeoutMs ?? 5000,
    maxBytes: opts.maxBytes ?? 1024 * 1024,
  });
  const failed = (why: string, cause?: unknown): IrsaError =>
    new IrsaError(
      "FETCH_FAILED",
      `GET ${url}: ${why}`,
      "check that the URL is reachable and its certificate trusted (caFile)",
      { cause },
    );
  if (!a.ok) throw failed(a.error?.code ?? a.message, a.error);
  if (a.status < 200 || a.status > 299) throw failed(`HTTP ${a.status}`);
  return {
    status: a.status,
    contentType: a.headers["content-type"],
    body: a.body,
    elapsedMs: a.elapsedMs,
  };
}
