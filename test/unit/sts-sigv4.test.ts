/**
 * SigV4 verification against requests signed by the AWS SDK v3 itself (test/support/sdk-signed.ts):
 * the SDK is the reference for what a correct signature is, so these tests do not restate the
 * algorithm.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { verifySigV4, type SecretLookup, type SignedRequest } from "../../src/core/sts/sigv4.js";
import { sdkSigned } from "../support/sdk-signed.js";

const AKID = "ASIAEXAMPLEEXAMPLE23";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION = "FwoGZXIvYXdzEXAMPLE//session+token/=";

const creds = (sessionToken = SESSION) => ({ accessKeyId: AKID, secretAccessKey: SECRET, sessionToken });

const issued =
  (expiration = Number.MAX_SAFE_INTEGER): SecretLookup =>
  (akid) =>
    akid === AKID ? { secretAccessKey: SECRET, sessionToken: SESSION, expiration } : undefined;

function withHeaders(req: SignedRequest, over: Record<string, string | string[] | undefined>): SignedRequest {
  return { ...req, headers: { ...req.headers, ...over } };
}

function refused(r: ReturnType<typeof verifySigV4>, code: string, message?: RegExp): string {
  assert.equal(r.ok, false, "refused");
  assert.equal(r.error.code, code, r.reason);
  if (message) assert.match(r.error.message, message);
  return r.reason;
}

describe("verifySigV4: requests the AWS SDK signs", () => {
  it("a GetCallerIdentity signed with issued credentials verifies and names its access key", async () => {
    const { req, at } = await sdkSigned(creds());
    assert.deepEqual(verifySigV4(req, issued(), at), { ok: true, accessKeyId: AKID });
  });

  it("a header given as a list of values is read joined with commas", async () => {
    const { req, at } = await sdkSigned(creds());
    const auth = String(req.headers.authorization);
    const [first = "", ...rest] = auth.split(",");
    assert.equal(
      verifySigV4(withHeaders(req, { authorization: [first, rest.join(",")] }), issued(), at).ok,
      true,
    );
  });

  it("query parameters are canonicalized as AWS does: sorted by name then value, RFC 3986 encoded", async () => {
    const query = { b: ["2", "1"], a: "x y!'()*~", "c d": "", Z: "é/?" };
    const { req, at } = await sdkSigned(creds(), { query });
    assert.equal(verifySigV4(req, issued(), at).ok, true, req.query);
    // The same parameters sent in another order and another (legal) encoding still verify.
    const reordered = "Z=%C3%A9%2F%3F&c+d=&b=1&a=x+y%21%27%28%29%2A%7E&b=2";
    assert.equal(verifySigV4({ ...req, query: reordered }, issued(), at).ok, true);
    const raw = "a=x%20y!'()*~&b=2&b=1&c%20d&&Z=%C3%A9/?";
    assert.equal(verifySigV4({ ...req, query: raw }, issued(), at).ok, true);
    // A changed value or a dropped parameter does not.
    for (const q of [
      "a=x+y%21%27%28%29%2A%7E&b=2&b=3&c+d=&Z=%C3%A9%2F%3F",
      "a=x+y%21%27%28%29%2A%7E&b=2&b=1&Z=%C3%A9%2F%3F",
    ]) {
      refused(verifySigV4({ ...req, query: q }, issued(), at), "SignatureDoesNotMatch");
    }
  });

  it("a query with a malformed percent escape is signed over its text as sent", async () => {
    const { req, at } = await sdkSigned(creds(), { query: { a: "%zz" } });
    assert.equal(verifySigV4({ ...req, query: "a=%zz" }, issued(), at).ok, true);
    refused(verifySigV4({ ...req, query: "a=%zy" }, issued(), at), "SignatureDoesNotMatch");
  });

  it("header values are compared with their surrounding and repeated spaces folded", async () => {
    const { req, at } = await sdkSigned(creds());
    const host = String(req.headers.host);
    assert.equal(verifySigV4(withHeaders(req, { host: `  ${host} ` }), issued(), at).ok, true);
    refused(verifySigV4(withHeaders(req, { host: `${host}x` }), issued(), at), "SignatureDoesNotMatch");
  });

  it("sequential spaces inside a signed header value count as one, as AWS canonicalizes them", async () => {
    // AWS: "Trim leading and trailing spaces, convert sequential spaces to a single space."
    const { req, at } = await sdkSigned(creds());
    const value = String(req.headers["amz-sdk-request"]);
    assert.match(value, /^\S+ \S+$/, "the SDK signs amz-sdk-request with one space inside");
    assert.match(String(req.headers.authorization), /SignedHeaders=[a-z0-9;-]*amz-sdk-request/);
    const spaced = withHeaders(req, { "amz-sdk-request": value.replace(" ", "    ") });
    assert.equal(verifySigV4(spaced, issued(), at).ok, true);
    // Folding keeps one space: a value without it is another value.
    const joined = withHeaders(req, { "amz-sdk-request": value.replace(" ", "") });
    refused(verifySigV4(joined, issued(), at), "SignatureDoesNotMatch");
  });

  it("a signed header the request does not carry counts as empty, as the SDK signs a header sent empty", async () => {
    const { req, at } = await sdkSigned(creds(), { headers: { "x-amz-meta-note": "" } });
    assert.equal(req.headers["x-amz-meta-note"], "");
    assert.match(String(req.headers.authorization), /SignedHeaders=[a-z0-9;-]*x-amz-meta-note/);
    assert.equal(verifySigV4(req, issued(), at).ok, true);
    assert.equal(verifySigV4(withHeaders(req, { "x-amz-meta-note": undefined }), issued(), at).ok, true);
    refused(verifySigV4(withHeaders(req, { "x-amz-meta-note": "x" }), issued(), at), "SignatureDoesNotMatch");
  });

  it("every signed part counts: method, path, query and a signed header", async () => {
    const { req, at } = await sdkSigned(creds());
    const tampered: SignedRequest[] = [
      { ...req, method: "PUT" },
      { ...req, path: "/x" },
      { ...req, query: "Action=GetCallerIdentity" },
      withHeaders(req, { "content-type": "text/plain" }),
      withHeaders(req, { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }),
    ];
    for (const t of tampered) {
      const reason = refused(
        verifySigV4(t, issued(), at),
        "SignatureDoesNotMatch",
        /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.$/,
      );
      assert.equal(reason, "the signature does not match");
    }
  });

  it("without x-amz-content-sha256 the body's own SHA-256 is what was signed", async () => {
    const { req, at } = await sdkSigned(creds(), { applyChecksum: false });
    assert.equal(req.headers["x-amz-content-sha256"], undefined);
    assert.equal(verifySigV4(req, issued(), at).ok, true);
    const body = Buffer.from("Action=GetCallerIdentity&Version=2011-06-16");
    refused(verifySigV4({ ...req, body }, issued(), at), "SignatureDoesNotMatch");
  });

  it("the body as received is what is checked: a body changed after signing does not verify, even with x-amz-content-sha256 sent", async () => {
    const { req, at } = await sdkSigned(creds());
    assert.match(String(req.headers["x-amz-content-sha256"]), /^[0-9a-f]{64}$/);
    assert.equal(verifySigV4(req, issued(), at).ok, true);
    const body = Buffer.from(`${req.body.toString()}&DurationSeconds=43200`);
    refused(verifySigV4({ ...req, body }, issued(), at), "SignatureDoesNotMatch");
  });

  it("a query parameter with an empty name or without a value is canonicalized as the SDK signs it", async () => {
    const { req, at } = await sdkSigned(creds(), { query: { "": "v", flag: "" } });
    assert.equal(verifySigV4(req, issued(), at).ok, true, req.query);
    // "flag" sent without "=" is the same parameter as "flag=".
    assert.equal(verifySigV4({ ...req, query: "=v&flag" }, issued(), at).ok, true);
    refused(verifySigV4({ ...req, query: "v&flag" }, issued(), at), "SignatureDoesNotMatch");
  });

  it("a signature made with another secret does not match", async () => {
    const { req, at } = await sdkSigned(creds());
    const other: SecretLookup = (akid) =>
      akid === AKID
        ? { secretAccessKey: `${SECRET}x`, sessionToken: SESSION, expiration: Infinity }
        : undefined;
    refused(verifySigV4(req, other, at), "SignatureDoesNotMatch");
  });
});

describe("verifySigV4: AWS's error for each missing or wrong part", () => {
  it("no Authorization header, or an empty one, is MissingAuthenticationToken", async () => {
    const { req, at } = await sdkSigned(creds());
    for (const authorization of [undefined, ""]) {
      const reason = refused(
        verifySigV4(withHeaders(req, { authorization }), issued(), at),
        "MissingAuthenticationToken",
        /^Request is missing Authentication Token$/,
      );
      assert.equal(reason, "no Authorization header");
    }
  });

  it("an Authorization header that is not SigV4 is IncompleteSignature", async () => {
    const { req, at } = await sdkSigned(creds());
    const auth = String(req.headers.authorization);
    for (const bad of [
      auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
      auth.replace("/aws4_request", "/aws5_request"),
      auth.replace(/Signature=[0-9a-f]{64}/, "Signature=abc"),
      `x${auth}`,
      `${auth}0`,
    ]) {
      const reason = refused(
        verifySigV4(withHeaders(req, { authorization: bad }), issued(), at),
        "IncompleteSignature",
        /^Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters\.$/,
      );
      assert.equal(reason, "the Authorization header is not a SigV4 header");
    }
    // Surrounding spaces are not part of the header's value.
    assert.equal(verifySigV4(withHeaders(req, { authorization: ` ${auth} ` }), issued(), at).ok, true);
  });

  it("the Authorization's parts: one or more spaces after the algorithm, commas with or without spaces after them", async () => {
    // AWS's S3 documentation: a space after AWS4-HMAC-SHA256, then the parts "separated by a comma";
    // its examples (and the SDKs) put ", ", other clients send "," alone.
    const { req, at } = await sdkSigned(creds());
    const auth = String(req.headers.authorization);
    assert.match(auth, /^AWS4-HMAC-SHA256 Credential=[^ ]+, SignedHeaders=[^ ]+, Signature=[0-9a-f]{64}$/);
    for (const ok of [
      auth.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   "),
      auth.replace(", SignedHeaders=", ",SignedHeaders="),
      auth.replace(", Signature=", ",Signature="),
      auth.replace(/, /g, ",   "),
    ]) {
      assert.equal(verifySigV4(withHeaders(req, { authorization: ok }), issued(), at).ok, true, ok);
    }
    for (const bad of [
      auth.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256"),
      auth.replace(", SignedHeaders=", " SignedHeaders="),
      auth.replace(", Signature=", " ,Signature="),
    ]) {
      refused(verifySigV4(withHeaders(req, { authorization: bad }), issued(), at), "IncompleteSignature");
    }
  });

  it("an access key this STS did not issue is InvalidClientTokenId", async () => {
    const { req, at } = await sdkSigned(creds());
    const reason = refused(
      verifySigV4(req, () => undefined, at),
      "InvalidClientTokenId",
      /^The security token included in the request is invalid\.$/,
    );
    assert.equal(reason, `access key ${AKID} was not issued by this STS`);
  });

  it("a session token that does not belong to the access key, or none, is InvalidClientTokenId", async () => {
    const other = await sdkSigned(creds(`${SESSION}x`));
    const reason = refused(
      verifySigV4(other.req, issued(), other.at),
      "InvalidClientTokenId",
      /is invalid\.$/,
    );
    assert.equal(reason, "the session token does not belong to the access key");
    const { req, at } = await sdkSigned(creds());
    refused(
      verifySigV4(withHeaders(req, { "x-amz-security-token": undefined }), issued(), at),
      "InvalidClientTokenId",
    );
  });

  it("credentials are expired from their expiration instant on (ExpiredToken)", async () => {
    const { req, at } = await sdkSigned(creds());
    const reason = refused(
      verifySigV4(req, issued(at), at),
      "ExpiredToken",
      /^The security token included in the request is expired$/,
    );
    assert.equal(reason, "the credentials have expired");
    assert.equal(verifySigV4(req, issued(at + 1), at).ok, true);
  });

  it("X-Amz-Date must be ISO 8601 basic format, on the credential scope's day, and host signed; the error quotes the value received", async () => {
    const { req, at } = await sdkSigned(creds());
    const date = String(req.headers["x-amz-date"]);
    const auth = String(req.headers.authorization);
    const cases: SignedRequest[] = [
      withHeaders(req, { "x-amz-date": undefined }),
      withHeaders(req, { "x-amz-date": date.replace("T", "t") }),
      withHeaders(req, { "x-amz-date": `${date}x` }),
      withHeaders(req, { "x-amz-date": `x${date}` }),
      withHeaders(req, { "x-amz-date": date.slice(0, -1) }),
      // The day of the scope, then a whole date: the format is the whole value, not its end.
      withHeaders(req, { "x-amz-date": `${date.slice(0, 8)}x${date}` }),
      withHeaders(req, { authorization: auth.replace(/\/\d{8}\//, "/19991231/") }),
      withHeaders(req, {
        authorization: auth.replace(/SignedHeaders=[a-z0-9;-]+/, "SignedHeaders=x-amz-date"),
      }),
    ];
    for (const c of cases) {
      const reason = refused(verifySigV4(c, issued(), at), "IncompleteSignature");
      assert.equal(
        reason,
        "X-Amz-Date is missing or does not match the credential scope, or host is not signed",
      );
    }
    const r = verifySigV4(withHeaders(req, { "x-amz-date": "2026" }), issued(), at);
    refused(r, "IncompleteSignature", /^Date must be in ISO-8601 'basic format'\. Got '2026'\.$/);
    const none = verifySigV4(withHeaders(req, { "x-amz-date": undefined }), issued(), at);
    refused(none, "IncompleteSignature", /^Date must be in ISO-8601 'basic format'\. Got ''\.$/);
  });

  it("a request dated up to 15 minutes from now verifies; one second more is 'Signature expired'", async () => {
    const { req, at } = await sdkSigned(creds());
    const date = String(req.headers["x-amz-date"]);
    const limit = 15 * 60_000;
    assert.equal(verifySigV4(req, issued(), at + limit).ok, true);
    assert.equal(verifySigV4(req, issued(), at - limit).ok, true);
    for (const now of [at + limit + 1, at - limit - 1]) {
      const reason = refused(
        verifySigV4(req, issued(), now),
        "SignatureDoesNotMatch",
        new RegExp(`^Signature expired: ${date} is now earlier or later than the allowed 15 minutes\\.$`),
      );
      assert.equal(reason, "the request's date is more than 15 minutes off");
    }
  });
});
