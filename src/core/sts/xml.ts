/**
 * The STS Query API's XML answers, written by hand: the shapes are small and fixed. Every value
 * goes through `xmlText`, which escapes markup and drops characters XML 1.0 cannot carry. Pure.
 */
import type { StsError } from "./errors.js";

export const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Escapes &, <, >, " and ', and replaces characters XML 1.0 forbids (controls, lone surrogates) with U+FFFD. */
export function xmlText(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === "&") out += "&amp;";
    else if (ch === "<") out += "&lt;";
    else if (ch === ">") out += "&gt;";
    else if (ch === '"') out += "&quot;";
    else if (ch === "'") out += "&apos;";
    else if (
      c === 0x9 ||
      c === 0xa ||
      c === 0xd ||
      (c >= 0x20 && c <= 0xd7ff) ||
      (c >= 0xe000 && c <= 0xfffd) ||
      c >= 0x10000
    )
      out += ch;
    else out += "\uFFFD";
  }
  return out;
}

function el(name: string, value: string): string {
  return `<${name}>${xmlText(value)}</${name}>`;
}

export function errorXml(e: StsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${STS_XMLNS}">\n` +
    `  <Error>\n    ${el("Type", e.type)}\n    ${el("Code", e.code)}\n    ${el("Message", e.message)}\n  </Error>\n` +
    `  ${el("RequestId", requestId)}\n</ErrorResponse>\n`
  );
}

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Epoch milliseconds. */
  readonly expiration: number;
}

export interface AssumedRole {
  readonly credentials: IssuedCredentials;
  readonly subject: string;
  /** AROA…:SESSION */
  readonly assumedRoleId: string;
  /** arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION */
  readonly arn: string;
  /** The IAM OIDC provider's ARN (what real STS returns, not the token's iss). */
  readonly provider: string;
  /** The client ID that matched. */
  readonly audience: string;
}

/** ISO 8601 in UTC with seconds, as STS writes it: 2026-12-02T06:22:51Z. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

export function assumeRoleWithWebIdentityXml(r: AssumedRole, requestId: string): string {
  const c = r.credentials;
  return (
    `<AssumeRoleWithWebIdentityResponse xmlns="${STS_XMLNS}">\n` +
    `  <AssumeRoleWithWebIdentityResult>\n` +
    `    <Credentials>\n` +
    `      ${el("AccessKeyId", c.accessKeyId)}\n` +
    `      ${el("SecretAccessKey", c.secretAccessKey)}\n` +
    `      ${el("SessionToken", c.sessionToken)}\n` +
    `      ${el("Expiration", isoSeconds(c.expiration))}\n` +
    `    </Credentials>\n` +
    `    ${el("SubjectFromWebIdentityToken", r.subject)}\n` +
    `    <AssumedRoleUser>\n      ${el("AssumedRoleId", r.assumedRoleId)}\n      ${el("Arn", r.arn)}\n    </AssumedRoleUser>\n` +
    `    ${el("Provider", r.provider)}\n` +
    `    ${el("Audience", r.audience)}\n` +
    `  </AssumeRoleWithWebIdentityResult>\n` +
    `  <ResponseMetadata>\n    ${el("RequestId", requestId)}\n  </ResponseMetadata>\n` +
    `</AssumeRoleWithWebIdentityResponse>\n`
  );
}

export interface CallerIdentity {
  /** AROA…:SESSION */
  readonly userId: string;
  readonly account: string;
  readonly arn: string;
}

export function getCallerIdentityXml(c: CallerIdentity, requestId: string): string {
  return (
    `<GetCallerIdentityResponse xmlns="${STS_XMLNS}">\n` +
    `  <GetCallerIdentityResult>\n    ${el("Arn", c.arn)}\n    ${el("UserId", c.userId)}\n    ${el("Account", c.account)}\n  </GetCallerIdentityResult>\n` +
    `  <ResponseMetadata>\n    ${el("RequestId", requestId)}\n  </ResponseMetadata>\n` +
    `</GetCallerIdentityResponse>\n`
  );
}
