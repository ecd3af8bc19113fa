import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError, type ErrorCode } from "../../src/core/errors.js";
import { checkIssuerUrl, checkJwksUri, defaultJwksUri } from "../../src/core/oidc/url.js";

describe("checkIssuerUrl", () => {
  const bad: [string, ErrorCode, RegExp][] = [
    ["http://issuer.example.com", "URL_NOT_HTTPS", /must use the https scheme, not http/],
    ["issuer.example.com", "URL_INVALID", /not a valid URL/],
    ["", "URL_INVALID", /empty/],
    [" https://issuer.example.com", "URL_INVALID", /white space/],
    ["https://issuer.example.com?x=1", "URL_HAS_QUERY", /has a query/],
    ["https://issuer.example.com/?", "URL_HAS_QUERY", /has a query/],
    ["https://issuer.example.com#frag", "URL_HAS_FRAGMENT", /has a fragment/],
    ["https://user:pw@issuer.example.com", "URL_INVALID", /user credentials/],
    // Either half of the userinfo alone is enough to refuse: a user name without a password...
    ["https://user@issuer.example.com", "URL_INVALID", /user credentials/],
    // ...and a password with an empty user name.
    ["https://:pw@issuer.example.com", "URL_INVALID", /user credentials/],
    ["s3://bucket/path", "URL_NOT_HTTPS", /https/],
  ];
  for (const [url, code, re] of bad) {
    it(`refuses ${JSON.stringify(url)} with ${code}`, () => {
      assert.throws(
        () => checkIssuerUrl(url),
        (e: unknown) =>
          e instanceof IrsaError && e.code === code && re.test(e.message) && e.hint !== undefined,
      );
    });
  }

  it("accepts https with a path and keeps the string exactly as given", () => {
    const r = checkIssuerUrl("https://Oidc.Example.com/cluster-1");
    assert.equal(r.url, "https://Oidc.Example.com/cluster-1");
    assert.deepEqual(r.warnings, []);
  });

  it("warns that a trailing slash makes a different issuer for IAM", () => {
    const r = checkIssuerUrl("https://oidc.example.com/");
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? "", /IAM matches the issuer string exactly/);
    assert.match(r.warnings[0] ?? "", /"https:\/\/oidc\.example\.com" is a different issuer/);
  });

  it("warns about a port, which IAM OIDC provider URLs should not contain", () => {
    const r = checkIssuerUrl("https://127.0.0.1:6443");
    assert.match(r.warnings.join("\n"), /has a port \(6443\)/);
  });

  it("warns about an explicit default port too, which the URL parser drops but IAM sees", () => {
    assert.match(checkIssuerUrl("https://oidc.example.com:443/c1").warnings.join("\n"), /has a port \(443\)/);
    assert.match(checkIssuerUrl("https://[::1]:443").warnings.join("\n"), /has a port \(443\)/);
    assert.deepEqual(checkIssuerUrl("https://[::1]/c1").warnings, []);
  });
});

describe("checkJwksUri", () => {
  it("requires https", () => {
    assert.throws(() => checkJwksUri("http://x/jwks"), /must use the https scheme/);
  });
  it("refuses a fragment", () => {
    assert.throws(() => checkJwksUri("https://x/jwks#a"), /fragment/);
  });
  it("allows a query, as kube-apiserver does", () => {
    assert.equal(checkJwksUri("https://x/jwks?v=1").url, "https://x/jwks?v=1");
  });
});

describe("defaultJwksUri", () => {
  it("appends /openid/v1/jwks without doubling a slash", () => {
    assert.equal(defaultJwksUri("https://x"), "https://x/openid/v1/jwks");
    assert.equal(defaultJwksUri("https://x/"), "https://x/openid/v1/jwks");
    assert.equal(defaultJwksUri("https://x/a/b"), "https://x/a/b/openid/v1/jwks");
  });
});
