/**
 * The two documents the issuer publishes, from what a source gives: checked parses of a JWKS and a
 * discovery document, the public-issuer check, and the documented rewrites (jwks_uri to the
 * published location; the algorithm list covering retained keys). Bytes are Go's JSON, so with
 * nothing to rewrite they equal what kube-apiserver serves. Pure.
 */
import { IrsaError } from "../errors.js";
import { goJson } from "../go/json.js";
import { Fields, isObject, type JsonObject } from "../json.js";
import { checkIssuerUrl, defaultJwksUri } from "../oidc/url.js";

/** A JWK as published: the source's object, field order kept. */
export type JwkObject = JsonObject & { readonly kid: string };

/** Where the issuer writes each document, relative to the issuer URL (as kube-apiserver serves them). */
export const DISCOVERY_OBJECT = ".well-known/openid-configuration";
export const JWKS_OBJECT = "openid/v1/jwks";
/** Rotation memory kept beside the documents in every target; not meant to be public. */
export const STATE_OBJECT = "irsa-issuer-state.json";

export const DISCOVERY_CONTENT_TYPE = "application/json";
/** kube-apiserver serves application/jwk-set+json; the issue and STS want application/json for both. */
export const JWKS_CONTENT_TYPE = "application/json";
/**
 * Short enough that a new signing key reaches STS and caches within a minute of its publication
 * (kube-apiserver signs with a new key as soon as it restarts), long enough to spare the origin.
 */
export const DOCUMENT_CACHE_CONTROL = "public, max-age=60";

function parseJson(text: string, what: string, where: string): unknown {
  if (text.trim() === "") {
    throw new IrsaError("SOURCE_INVALID", `${what} from ${where} is empty`, `check that ${where} serves it`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new IrsaError(
      "SOURCE_INVALID",
      `${what} from ${where} is not JSON: ${(e as Error).message}`,
      `check that ${where} serves the document itself, not an error page`,
      { cause: e },
    );
  }
}

function fields(what: string, where: string): Fields {
  return new Fields(
    (path, problem) =>
      new IrsaError(
        "SOURCE_INVALID",
        `${what} from ${where}: ${path}: ${problem}`,
        `check the document ${where} serves`,
      ),
  );
}

/** The keys of a JWKS, each an object with a non-empty kid and kty; refuses an empty set. */
export function parseJwks(text: string, where: string): JwkObject[] {
  const doc = parseJson(text, "JWKS", where);
  const f = fields("JWKS", where);
  if (!isObject(doc)) throw f.fail("(document)", "expected an object with a keys array");
  const keys = f.optObjectArray(doc, "keys", "");
  if (keys === undefined) throw f.fail("keys", "required array is missing");
  if (keys.length === 0) {
    throw new IrsaError(
      "SOURCE_INVALID",
      `JWKS from ${where} has no keys; publishing it would make every token fail`,
      "give kube-apiserver --service-account-key-file, or --key files, with the public keys",
    );
  }
  return keys.map((k, i) => {
    f.nonEmptyString(k, "kid", `keys[${i}]`);
    f.nonEmptyString(k, "kty", `keys[${i}]`);
    return k as JwkObject;
  });
}

export interface SourceDiscovery {
  readonly doc: JsonObject;
  readonly issuer: string;
  readonly jwksUri: string;
}

export function parseDiscovery(text: string, where: string): SourceDiscovery {
  const doc = parseJson(text, "discovery document", where);
  const f = fields("discovery document", where);
  if (!isObject(doc)) throw f.fail("(document)", "expected an object");
  const issuer = f.nonEmptyString(doc, "issuer", "");
  const jwksUri = f.nonEmptyString(doc, "jwks_uri", "");
  return { doc, issuer, jwksUri };
}

/**
 * Refuses a cluster whose tokens would never validate at STS: their `iss` is the cluster's issuer,
 * and STS looks keys up under exactly that URL.
 */
export function checkPublicIssuer(clusterIssuer: string, publicIssuer: string): void {
  if (clusterIssuer === publicIssuer) return;
  throw new IrsaError(
    "ISSUER_MISMATCH",
    `the cluster's issuer is "${clusterIssuer}" but --public-issuer is "${publicIssuer}": tokens carry iss "${clusterIssuer}", so STS would never find them under "${publicIssuer}"`,
    `set kube-apiserver --service-account-issuer=${publicIssuer} (keep "${clusterIssuer}" as a second --service-account-issuer while its tokens are live), or correct --public-issuer`,
  );
}

export interface Published {
  readonly discovery: string;
  readonly jwks: string;
  /** What was rewritten, for the log. */
  readonly rewrites: readonly string[];
}

function algorithms(keys: readonly JwkObject[], fallback: unknown): unknown {
  const algs = keys.map((k) => k["alg"]).filter((a): a is string => typeof a === "string");
  if (algs.length !== keys.length) return fallback;
  return [...new Set(algs)].sort();
}

/**
 * The documents to publish: the source's discovery document with jwks_uri pointing at the
 * published JWKS (`<issuer>/openid/v1/jwks`) and the algorithm list covering every published key;
 * the JWKS with the source's keys followed by the retained ones.
 */
export function publishedDocuments(
  source: SourceDiscovery,
  keys: readonly JwkObject[],
  publicIssuer?: string,
): Published {
  const issuer = checkIssuerUrl(source.issuer, "kube-apiserver --service-account-issuer").url;
  if (publicIssuer !== undefined) checkPublicIssuer(issuer, publicIssuer);
  const rewrites: string[] = [];
  const jwksUri = defaultJwksUri(issuer);
  const doc: JsonObject = { ...source.doc };
  if (source.jwksUri !== jwksUri) {
    rewrites.push(`jwks_uri "${source.jwksUri}" → "${jwksUri}"`);
    doc["jwks_uri"] = jwksUri;
  }
  const algKey = "id_token_signing_alg_values_supported";
  const algs = algorithms(keys, doc[algKey]);
  if (JSON.stringify(algs) !== JSON.stringify(doc[algKey])) {
    rewrites.push(`${algKey} ${JSON.stringify(doc[algKey])} → ${JSON.stringify(algs)}`);
    doc[algKey] = algs;
  }
  return { discovery: goJson(doc), jwks: goJson({ keys }), rewrites };
}
