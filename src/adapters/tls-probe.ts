/**
 * A TLS handshake with a server, trusting only the given CA bundle (as kube-apiserver trusts a
 * webhook's caBundle): whether the certificate verifies and names the host, and its validity.
 */
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { checkServerIdentity, connect } from "node:tls";
import type { ServingFacts } from "../core/doctor/facts.js";

export async function probeServing(url: string, caPem: string, timeoutMs = 5000): Promise<ServingFacts> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 443);
  return new Promise<ServingFacts>((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ca: caPem,
      rejectUnauthorized: false,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      timeout: timeoutMs,
    });
    socket.once("secureConnect", () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      // An empty object when the server presented none.
      if (!("raw" in peer)) {
        reject(new Error("the server presented no certificate"));
        return;
      }
      const x = new X509Certificate(peer.raw);
      let verifyError = socket.authorized ? undefined : String(socket.authorizationError);
      if (verifyError === undefined) {
        const id = checkServerIdentity(host, peer);
        if (id !== undefined) verifyError = id.message;
      }
      resolve({
        verified: verifyError === undefined,
        verifyError,
        subject: x.subject.replace(/\n/g, ", "),
        notBefore: Math.floor(Date.parse(x.validFrom) / 1000),
        notAfter: Math.floor(Date.parse(x.validTo) / 1000),
      });
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    });
    socket.once("error", reject);
  });
}
