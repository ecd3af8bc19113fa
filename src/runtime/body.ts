/** Reading a request body whole, within a byte limit. */
import type { IncomingMessage } from "node:http";

/** The body is over the limit (declared in Content-Length or counted while reading). */
export class BodyTooLarge extends Error {
  override readonly name = "BodyTooLarge";
}

/** The connection ended before the whole body arrived: the client hung up (or was cut off). */
export class ClientAborted extends Error {
  override readonly name: string = "ClientAborted";
}

/** The server's own request timeout cut the connection before the whole body arrived (Node sent 408). */
export class RequestTimedOut extends ClientAborted {
  override readonly name: string = "RequestTimedOut";
}

/** Why the connection ended mid-body: the server's request timeout, or the client. */
function aborted(req: IncomingMessage, message: string): ClientAborted {
  // Node destroys the socket with ERR_HTTP_REQUEST_TIMEOUT when `server.requestTimeout` fires.
  const cause = (req.socket.errored as NodeJS.ErrnoException | null | undefined)?.code;
  return cause === "ERR_HTTP_REQUEST_TIMEOUT"
    ? new RequestTimedOut(`no whole request within the server's request timeout (${message})`)
    : new ClientAborted(message);
}

/**
 * The whole body, or a rejection with BodyTooLarge, ClientAborted (RequestTimedOut when the server's
 * request timeout cut it) or the stream's own error.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge(`declared ${declared} bytes, over the ${limit}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new BodyTooLarge(`over the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      // ECONNRESET "aborted": the connection closed mid-body.
      reject(e.code === "ECONNRESET" || req.socket.destroyed ? aborted(req, e.message) : e);
    });
    req.on("close", () => {
      if (done) return;
      done = true;
      reject(aborted(req, "connection closed before the body was complete"));
    });
  });
}
