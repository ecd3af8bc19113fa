/**
 * Issuer and jwks_uri validation, as kube-apiserver does it (pkg/serviceaccount/openidmetadata.go),
 * plus warnings for what IAM treats differently. Pure.
 */
import { IrsaError } from "../errors.js";

export interface UrlCheck {
  /** The URL exactly as given: IAM and STS compare the issuer as a string, so we never normalise it. */
  readonly url: string;
  readonly warnings: readonly string[];
}

function parse(raw: string, what: string, flag: string): URL {
  if (raw.trim() === "") {
    throw new IrsaError("URL_INVALID", `${what} is empty`, `pass an https URL with ${flag}`);
  }
  if (raw !== raw.trim()) {
    throw new IrsaError(
      "URL_INVALID",
      `${what} "${raw}" has leading or trailing white space`,
      `remove the spaces around the URL in ${flag}`,
    );
  }
  // WHATWG URL parsing drops tabs and newlines and reads "\\" as "/"; Go's net/url, which
  // kube-apiserver uses, refuses control characters and reads a backslash as part of an opaque
  // URL with no host.
  let control: string | undefined;
  for (let i = 0; i < raw.length && control === undefined; i++) {
    const code = raw.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) control = raw.charAt(i);
  }
  if (control !== undefined) {
    throw new IrsaError(
      "URL_INVALID",
      `${what} ${JSON.stringify(raw)} contains a control character (${JSON.stringify(control)})`,
      `remove line breaks, tabs and other control characters from ${flag}`,
    );
  }
  if (raw.includes("\\")) {
    throw new IrsaError(
      "URL_INVALID",
      `${what} "${raw}" contains a backslash, which kube-apiserver does not read as "/"`,
      `write the URL with forward slashes, such as https://oidc.example.com/cluster-1, in ${flag}`,
    );
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new IrsaError(
      "URL_INVALID",
      `${what} "${raw}" is not a valid URL`,
      `pass an absolute URL such as https://oidc.example.com/cluster-1 with ${flag}`,
    );
  }
  if (u.protocol !== "https:") {
    throw new IrsaError(
      "URL_NOT_HTTPS",
      `${what} "${raw}" must use the https scheme, not ${u.protocol.replace(/:$/, "")}`,
      u.host === ""
        ? `pass an https URL with a host name, such as https://oidc.example.com/cluster-1, in ${flag} (kube-apiserver and AWS STS accept only https)`
        : `use https://${u.host}${u.pathname === "/" ? "" : u.pathname} (kube-apiserver and AWS STS accept only https)`,
    );
  }
  // "https:x" and "https:///path" parse here with a host; Go's net/url reads them with none.
  if (u.host === "" || !/^https:\/\/[^/?#]/i.test(raw)) {
    throw new IrsaError(
      "URL_INVALID",
      `${what} "${raw}" has no host`,
      `pass a URL with a host name in ${flag}`,
    );
  }
  if (u.username !== "" || u.password !== "") {
    throw new IrsaError(
      "URL_INVALID",
      `${what} "${raw}" contains user credentials`,
      `remove the user:password@ part from ${flag}`,
    );
  }
  return u;
}

/**
 * The port as written in `raw`: URL.port drops the scheme's default (":443"), but IAM compares
 * the issuer as a string, so a written ":443" matters as much as any other port.
 */
function explicitPort(raw: string): string {
  const rest = raw.slice(raw.indexOf("//") + 2);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const host = authority.replace(/^\[[^\]]*\]/, "");
  const colon = host.lastIndexOf(":");
  return colon < 0 ? "" : host.slice(colon + 1);
}

/** Validates a service-account issuer URL. Throws IrsaError; returns warnings for legal but risky forms. */
export function checkIssuerUrl(raw: string, flag = "--issuer"): UrlCheck {
  const u = parse(raw, "issuer URL", flag);
  if (raw.includes("?")) {
    throw new IrsaError(
      "URL_HAS_QUERY",
      `issuer URL "${raw}" has a query (?${u.search.slice(1)}); an OpenID issuer may not`,
      `drop everything from "?" on: ${raw.slice(0, raw.indexOf("?"))}`,
    );
  }
  if (raw.includes("#")) {
    throw new IrsaError(
      "URL_HAS_FRAGMENT",
      `issuer URL "${raw}" has a fragment (#${u.hash.slice(1)}); an OpenID issuer may not`,
      `drop everything from "#" on: ${raw.slice(0, raw.indexOf("#"))}`,
    );
  }
  const warnings: string[] = [];
  // URL schemes are case-insensitive, but IAM compares the issuer as a string and its provider URLs
  // begin with a lowercase https://, so tokens carrying this iss match no provider.
  if (!raw.startsWith("https://")) {
    warnings.push(
      `issuer URL "${raw}" writes its scheme as "${raw.slice(0, raw.indexOf(":"))}": IAM matches the issuer string exactly ` +
        `and its OIDC provider URLs begin with "https://", so write "https://${raw.slice(raw.indexOf("//") + 2)}"`,
    );
  }
  if (raw.endsWith("/")) {
    warnings.push(
      `issuer URL "${raw}" ends with "/": IAM matches the issuer string exactly, so tokens with iss "${raw}" ` +
        `match only an OIDC provider created with that trailing slash, and "${raw.replace(/\/+$/, "")}" is a different issuer`,
    );
  }
  const port = explicitPort(raw);
  if (port !== "") {
    warnings.push(
      `issuer URL "${raw}" has a port (${port}): IAM OIDC provider URLs should not contain a port; ` +
        `publish the documents on 443 for AWS STS`,
    );
  }
  return { url: raw, warnings };
}

/** Validates a jwks_uri: kube-apiserver requires https; a fragment is never sent to a server. */
export function checkJwksUri(raw: string, flag = "--jwks-uri"): UrlCheck {
  const u = parse(raw, "jwks_uri", flag);
  if (raw.includes("#")) {
    throw new IrsaError(
      "URL_HAS_FRAGMENT",
      `jwks_uri "${raw}" has a fragment (#${u.hash.slice(1)}), which clients never send to the server`,
      `drop everything from "#" on: ${raw.slice(0, raw.indexOf("#"))}`,
    );
  }
  return { url: raw, warnings: [] };
}

/** `<issuer>/openid/v1/jwks`, where kube-apiserver serves the key set (no doubled slash). */
export function defaultJwksUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/openid/v1/jwks`;
}
