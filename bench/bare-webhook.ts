/**
 * The floor of any Node.js webhook, run as its own process by bench/webhook.ts: a bare HTTPS server
 * that reads each AdmissionReview, parses it for its uid and answers "allowed" with no patch.
 * Run: node dist/bench/bare-webhook.js CERT KEY PORT
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [certFile, keyFile, port] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || port === undefined) {
  throw new Error("usage: bare-webhook.js CERT KEY PORT");
}
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const r = JSON.parse(Buffer.concat(chunks).toString()) as { request?: { uid?: string } };
    const body = JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: r.request?.uid ?? "", allowed: true },
    });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(port), "127.0.0.1");
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
