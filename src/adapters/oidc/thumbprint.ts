/**
 * The thumbprint IAM wants for an OIDC provider: the SHA-1 of the last certificate the server of the
 * issuer's jwks_uri sends. Node's getPeerCertificate(true) extends the sent chain from the local
 * trust store, so the chain is read on a second connection whose only trusted certificate is the
 * server's own leaf: nothing in that store issues anything, so what comes back is what was sent.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { connect, getCACertificates, type DetailedPeerCertificate } from "node:tls";
import { IrsaError } from "../../core/errors.js";
import { checkJwksUri } from "../../core/oidc/url.js";
import { fetchHttps } from "./fetch.js";

export interface SentCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly sha1: string;
}

export interface ThumbprintResult {
  readonly jwksUri: string;
  readonly host: string;
  readonly port: number;
  /** What the server sent, leaf first. */
  readonly chain: readonly SentCertificate[];
  /** SHA-1 of the last certificate sent, 40 lowercase hex. */
  readonly thumbprint: string;
}

function sent(raw: Buffer): SentCertificate {
  const x = new X509Certificate(raw);
  return {
    subject: x.subject.replace(/\n/g, ", "),
    issuer: x.issuer.replace(/\n/g, ", "),
    sha1: createHash("sha1").update(raw).digest("hex"),
  };
}

function handshake(
  host: string,
  port: number,
  ca: string[] | undefined,
  verify: boolean,
): Promise<DetailedPeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      // SNI carries host names only (RFC 6066); Node warns on an IP address.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: verify,
      ...(ca ? { ca } : {}),
    });
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error(`no TLS handshake with ${host}:${port} within 10 s`)),
    );
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate(true);
      socket.setTimeout(0);
      socket.end();
      resolve(cert);
    });
    socket.once("error", (e: Error) => {
      reject(
        new IrsaError(
          "TLS_INVALID",
          `TLS with ${host}:${port} failed: ${e.message}`,
          "check the host, or pass --ca-file with its CA",
          {
            cause: e,
          },
        ),
      );
    });
  });
}

/** The certificates a server sent, leaf first (verified against the CAs first). */
export async function sentChain(host: string, port: number, caFile?: string): Promise<SentCertificate[]> {
  let ca: string[] | undefined;
  if (caFile !== undefined) {
    try {
      ca = [...getCACertificates("default"), await readFile(caFile, "utf8")];
    } catch (e) {
      throw new IrsaError("FILE_UNREADABLE", `cannot read CA file ${caFile}: ${(e as Error).message}`);
    }
  }
  const verified = await handshake(host, port, ca, true);
  const leafPem = new X509Certificate(verified.raw).toString();
  const peer = await handshake(host, port, [leafPem], false);
  if (!peer.raw.equals(verified.raw)) {
    throw new IrsaError(
      "TLS_INVALID",
      `${host}:${port} presented another certificate on a second connection`,
    );
  }
  const chain: SentCertificate[] = [];
  // issuerCertificate is undefined at run time when no issuer was found, whatever the type says.
  let c = peer as Partial<DetailedPeerCertificate> | undefined;
  const seen = new Set<string>();
  while (c?.raw !== undefined) {
    const s = sent(c.raw);
    if (seen.has(s.sha1)) break;
    seen.add(s.sha1);
    chain.push(s);
    c = c.issuerCertificate;
  }
  return chain;
}

export async function thumbprint(issuer: string, caFile?: string): Promise<ThumbprintResult> {
  const discoveryUrl = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const doc = await fetchHttps(discoveryUrl, { caFile });
  let jwksUri: unknown;
  try {
    jwksUri = (JSON.parse(doc.body) as { jwks_uri?: unknown }).jwks_uri;
  } catch {
    throw new IrsaError("FETCH_FAILED", `${discoveryUrl} is not JSON`);
  }
  if (typeof jwksUri !== "string") {
    throw new IrsaError("FETCH_FAILED", `${discoveryUrl} has no jwks_uri string`);
  }
  checkJwksUri(jwksUri, "the discovery document's jwks_uri");
  const u = new URL(jwksUri);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = u.port === "" ? 443 : Number(u.port);
  const chain = await sentChain(host, port, caFile);
  const last = chain[chain.length - 1];
  if (last === undefined) throw new IrsaError("TLS_INVALID", `${host}:${port} sent no certificate`);
  return { jwksUri, host, port, chain, thumbprint: last.sha1 };
}
