/**
 * `irsa issuer serve`'s HTTPS side: exactly the two documents, at the issuer's path, with their
 * content type, a strong ETag, If-None-Match → 304, HEAD, Cache-Control; 404 for anything else.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  DISCOVERY_CONTENT_TYPE,
  DISCOVERY_OBJECT,
  DOCUMENT_CACHE_CONTROL,
  JWKS_CONTENT_TYPE,
  JWKS_OBJECT,
} from "../core/issuer/documents.js";
import { etagOf, ifNoneMatchHits } from "../core/issuer/http-cache.js";
import { errorBody, pathOf, send } from "../runtime/http.js";
import type { Target } from "./target.js";

export interface ServedDocument {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType: string;
}

/** URL path → document. */
export type ServedDocuments = ReadonlyMap<string, ServedDocument>;

/** The issuer URL's path without a trailing slash: "" or "/cluster-1". */
export function issuerPath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, "");
}

/** The published documents in `target`, keyed by the URL path they are served at; undefined if absent. */
export async function loadServed(target: Target): Promise<ServedDocuments | undefined> {
  const discovery = await target.read(DISCOVERY_OBJECT);
  const jwks = await target.read(JWKS_OBJECT);
  if (discovery === undefined || jwks === undefined) return undefined;
  const { issuer } = JSON.parse(discovery.body.toString("utf8")) as { issuer: string };
  const base = issuerPath(issuer);
  const doc = (body: Buffer, contentType: string): ServedDocument => ({
    body,
    etag: etagOf(body),
    contentType,
  });
  return new Map([
    [`${base}/${DISCOVERY_OBJECT}`, doc(discovery.body, DISCOVERY_CONTENT_TYPE)],
    [`${base}/${JWKS_OBJECT}`, doc(jwks.body, JWKS_CONTENT_TYPE)],
  ]);
}

/** The request handler; `onAnswer` sees each answer's path label and status (metrics). */
export function documentRoute(
  documents: () => ServedDocuments | undefined,
  onAnswer: (path: string, code: number) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = pathOf(req);
    const doc = documents()?.get(path);
    const label = doc === undefined ? "other" : path;
    const answer = (code: number): void => {
      onAnswer(label, code);
    };
    if (doc === undefined) {
      send(res, 404, errorBody("NOT_FOUND", `no document at ${path}`));
      answer(404);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, errorBody("METHOD_NOT_ALLOWED", `${req.method ?? ""} is not allowed; use GET or HEAD`));
      answer(405);
      return;
    }
    const headers = { ETag: doc.etag, "Cache-Control": DOCUMENT_CACHE_CONTROL };
    if (ifNoneMatchHits(req.headers["if-none-match"], doc.etag)) {
      res.writeHead(304, headers);
      res.end();
      answer(304);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": doc.contentType, "Content-Length": doc.body.length });
    res.end(req.method === "HEAD" ? undefined : doc.body);
    answer(200);
  };
}
