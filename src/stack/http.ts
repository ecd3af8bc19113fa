/** A small HTTP(S) client for readiness probes and requests to peers: exact response bytes, a private CA, optional client certificate. */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body bytes exactly as received. */
  readonly body: Buffer;
  readonly text: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** PEM CA certificate(s) to trust for https. */
  readonly ca?: string;
  /** PEM client certificate and key (mTLS). */
  readonly cert?: string;
  readonly key?: string;
  readonly timeoutMs?: number;
}

export async function httpCall(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${opts.method ?? "GET"} ${url}: timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}
