/**
 * An ACME certificate authority (Let's Encrypt, or Pebble in tests) through acme-client: the
 * account key, and one order for one domain validated by HTTP-01. The caller serves the challenge
 * tokens; the CA's own validation is the check (no self-check through the public DNS first).
 */
import acme from "acme-client";
import { Agent } from "node:https";
import { IrsaError } from "../../core/errors.js";

/** Where the CA's validation server fetches a token: http://DOMAIN/.well-known/acme-challenge/TOKEN. */
export const HTTP01_PREFIX = "/.well-known/acme-challenge/";

export interface Http01Responder {
  put(token: string, keyAuthorization: string): void;
  remove(token: string): void;
}

export interface OrderOptions {
  readonly directoryUrl: string;
  /** PEM CA certificates to trust for the directory's HTTPS (a private ACME server); else the system's. */
  readonly caPem?: string | undefined;
  /** The account's private key (PEM); newAccountKey() makes one. */
  readonly accountKey: string;
  readonly email: string;
  readonly domain: string;
  readonly http01: Http01Responder;
}

export interface OrderedCertificate {
  /** The certificate chain, leaf first (PEM). */
  readonly cert: string;
  /** Its new private key (PEM, ECDSA P-256). */
  readonly key: string;
}

/** A new ACME account key (ECDSA P-256, PEM). */
export async function newAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey("P-256")).toString("utf8");
}

function describe(e: unknown): string {
  const detail = (e as { response?: { data?: { detail?: string; type?: string } } }).response?.data;
  if (detail?.detail !== undefined) return `${detail.type ?? "error"}: ${detail.detail}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Registers (or finds) the account, orders a certificate for `domain`, answers the HTTP-01
 * challenge through `http01`, and returns the chain with its new key. Throws ACME_FAILED.
 */
export async function orderCertificate(o: OrderOptions): Promise<OrderedCertificate> {
  // acme-client makes every request through one shared axios instance: the CA to trust is set there.
  acme.axios.defaults.httpsAgent = o.caPem === undefined ? undefined : new Agent({ ca: o.caPem });
  const client = new acme.Client({ directoryUrl: o.directoryUrl, accountKey: o.accountKey });
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: o.domain, altNames: [o.domain] },
    await acme.crypto.createPrivateEcdsaKey("P-256"),
  );
  try {
    const cert = await client.auto({
      csr,
      email: o.email,
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      skipChallengeVerification: true,
      challengeCreateFn: (_authz, challenge, keyAuthorization) => {
        o.http01.put(challenge.token, keyAuthorization);
        return Promise.resolve();
      },
      challengeRemoveFn: (_authz, challenge) => {
        o.http01.remove(challenge.token);
        return Promise.resolve();
      },
    });
    return { cert, key: key.toString("utf8") };
  } catch (e) {
    throw new IrsaError(
      "ACME_FAILED",
      `ACME order for ${o.domain} at ${o.directoryUrl} failed: ${describe(e)}`,
      `check that ${o.domain} resolves to this server and that port 80 (or --acme-http-port) reaches it from the CA; the order is retried with backoff`,
      { cause: e },
    );
  }
}
