/** Reading a request body whole, within a byte limit. */
import type { IncomingMessage } from "node:http";

/** The body is over the limit (declared in Content-Length or counted while reading). */
export class BodyTooLarge extends Error {
  override readonly name = "BodyTooLarge";
}

/** The connection ended before the whole body arrived: the client hung up (or was cut off). */
export class ClientAborted extends Error {
  override readonly name = "ClientAborted";
}

/** The whole body, or a rejection with BodyTooLarge, ClientAborted or the stream's own error. */
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
      reject(e.code === "ECONNRESET" || req.socket.destroyed ? new ClientAborted(e.message) : e);
    });
    req.on("close", () => {
      if (done) return;
      done = true;
      reject(new ClientAborted("connection closed before the body was complete"));
    });
  });
}
