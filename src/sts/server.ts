/**
 * The STS Query API over HTTP(S): reads the request within a size limit, answers it with the core
 * (src/core/sts/query.ts), logs the check that decided and sends it in X-Irsa-Check headers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { stsError } from "../core/sts/errors.js";
import { answerQuery, headerSafe, requestId, type QueryAnswer, type StsService } from "../core/sts/query.js";
import { errorXml } from "../core/sts/xml.js";
import { BodyTooLarge, ClientAborted, readBody } from "../runtime/body.js";
import type { Log } from "../runtime/log.js";

/** A token is at most 20,000 characters; with the other parameters and form encoding 64 KiB is ample. */
export const MAX_BODY_BYTES = 64 * 1024;

function reply(
  res: ServerResponse,
  a: Pick<QueryAnswer, "status" | "body" | "requestId" | "check" | "reason">,
): void {
  res.writeHead(a.status, {
    "Content-Type": "text/xml",
    "Content-Length": Buffer.byteLength(a.body),
    "x-amzn-RequestId": a.requestId,
    "X-Irsa-Check": headerSafe(a.check),
    "X-Irsa-Check-Reason": headerSafe(a.reason),
  });
  res.end(a.body);
}

export function stsHandler(svc: StsService, log: Log): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? "" : url.slice(q + 1);
    readBody(req, MAX_BODY_BYTES).then(
      async (body) => {
        const a = await answerQuery(
          { method: req.method ?? "GET", path, query, headers: req.headers, body },
          svc,
        );
        const line = {
          requestId: a.requestId,
          action: a.action,
          status: a.status,
          code: a.errorCode,
          check: a.check,
          reason: a.reason,
        };
        if (a.errorCode === undefined) log.info(line, "answered");
        else log.info(line, "refused");
        reply(res, a);
      },
      (e: unknown) => {
        if (e instanceof ClientAborted) return;
        const id = requestId(svc.random);
        const tooLarge = e instanceof BodyTooLarge;
        // AWS's answer to an oversized request is not known; a ValidationError says what is wrong.
        const err = tooLarge
          ? stsError(
              "ValidationError",
              `1 validation error detected: the request body exceeds ${MAX_BODY_BYTES} bytes`,
            )
          : stsError("InternalFailure", "An internal error occurred.");
        log.info({ requestId: id, check: "request-size", reason: (e as Error).message }, "refused");
        reply(res, {
          status: err.status,
          body: errorXml(err, id),
          requestId: id,
          check: tooLarge ? "request-size" : "internal",
          reason: (e as Error).message,
        });
      },
    );
  };
}
