/**
 * Requests signed by the AWS SDK v3 itself (the STS client, with a request handler that keeps the
 * signed request instead of sending it): the reference for what a correct SigV4 signature is.
 */
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from "@aws-sdk/client-sts";
import assert from "node:assert/strict";
import type { SignedRequest } from "../../src/core/sts/sigv4.js";

export interface Signed {
  readonly req: SignedRequest;
  /** The signing time (X-Amz-Date), epoch milliseconds. */
  readonly at: number;
}

/**
 * GetCallerIdentity as the SDK signs it; `query` replaces the query before signing, `headers` are
 * added before signing (and signed); `applyChecksum: false` (passed through to the SDK's signer)
 * leaves out x-amz-content-sha256.
 */
export async function sdkSigned(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  opts: {
    query?: Record<string, string | string[]>;
    headers?: Record<string, string>;
    applyChecksum?: boolean;
  } = {},
): Promise<Signed> {
  let captured: SignedRequest | undefined;
  const client = new STSClient({
    ...({ applyChecksum: opts.applyChecksum ?? true } as STSClientConfig),
    region: "eu-west-1",
    endpoint: "http://sts.test:4566",
    maxAttempts: 1,
    credentials,
    requestHandler: {
      handle: (r: {
        method: string;
        path: string;
        query?: Record<string, string | string[] | null>;
        headers: Record<string, string>;
        body?: unknown;
      }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(r.query ?? {})) {
          for (const one of Array.isArray(v) ? v : [v ?? ""]) q.append(k, one);
        }
        captured = {
          method: r.method,
          path: r.path,
          query: q.toString(),
          headers,
          body: Buffer.from(typeof r.body === "string" ? r.body : ""),
        };
        return Promise.reject(new Error("captured"));
      },
    },
  });
  if (opts.query !== undefined) {
    const query = opts.query;
    client.middlewareStack.add(
      (next) => (args) => {
        (args.request as { query: unknown }).query = query;
        return next(args);
      },
      { step: "build" },
    );
  }
  if (opts.headers !== undefined) {
    const extra = opts.headers;
    client.middlewareStack.add(
      (next) => (args) => {
        const r = args.request as { headers: Record<string, string> };
        r.headers = { ...r.headers, ...extra };
        return next(args);
      },
      { step: "build" },
    );
  }
  await assert.rejects(client.send(new GetCallerIdentityCommand({})), /captured/);
  assert.ok(captured);
  const d = String(captured.headers["x-amz-date"]);
  const at = Date.UTC(
    +d.slice(0, 4),
    +d.slice(4, 6) - 1,
    +d.slice(6, 8),
    +d.slice(9, 11),
    +d.slice(11, 13),
    +d.slice(13, 15),
  );
  return { req: captured, at };
}
