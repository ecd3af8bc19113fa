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
    // What Go's net/url (kube-apiserver's) reads with an empty host or refuses, though WHATWG URL
    // parsing takes them.
    ["https:x", "URL_INVALID", /has no host/],
    ["https:///path", "URL_INVALID", /has no host/],
    ["https:\\\\x\\y", "URL_INVALID", /backslash/],
    ["https://issuer.example.com\\path", "URL_INVALID", /backslash/],
    ["https://issuer.exa\nmple.com", "URL_INVALID", /control character/],
    ["https://issuer.example.com/a\tb", "URL_INVALID", /control character/],
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

  it("the hint for a URL without a host does not suggest one without a host either", () => {
    assert.throws(
      () => checkIssuerUrl("file:///etc/passwd"),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.code === "URL_NOT_HTTPS" &&
        e.hint !== undefined &&
        !e.hint.includes("https:///") &&
        e.hint.includes("https://oidc.example.com"),
    );
  });

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

  it("warns about a scheme not written in lower case, which IAM's provider URLs never match", () => {
    assert.deepEqual(checkIssuerUrl("HTTPS://oidc.example.com/c1").warnings, [
      'issuer URL "HTTPS://oidc.example.com/c1" writes its scheme as "HTTPS": IAM matches the issuer string exactly ' +
        'and its OIDC provider URLs begin with "https://", so write "https://oidc.example.com/c1"',
    ]);
    assert.match(
      checkIssuerUrl("Https://oidc.example.com").warnings.join("\n"),
      /as "Https".*write "https:\/\/oidc\.example\.com"/,
    );
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

describe("URL errors say what is wrong and how to fix it, naming the flag", () => {
  const cases: [string, () => unknown, string, string][] = [
    ["empty", () => checkIssuerUrl(""), "issuer URL is empty", "pass an https URL with --issuer"],
    [
      "only spaces (empty, not a spacing problem)",
      () => checkIssuerUrl("   ", "--issuer-url"),
      "issuer URL is empty",
      "pass an https URL with --issuer-url",
    ],
    [
      "spaces around",
      () => checkIssuerUrl("https://x.example ", "--issuer-url"),
      'issuer URL "https://x.example " has leading or trailing white space',
      "remove the spaces around the URL in --issuer-url",
    ],
    [
      "not a URL",
      () => checkJwksUri("x.example/jwks"),
      'jwks_uri "x.example/jwks" is not a valid URL',
      "pass an absolute URL such as https://oidc.example.com/cluster-1 with --jwks-uri",
    ],
    [
      "http with a path",
      () => checkIssuerUrl("http://x.example/c1"),
      'issuer URL "http://x.example/c1" must use the https scheme, not http',
      "use https://x.example/c1 (kube-apiserver and AWS STS accept only https)",
    ],
    [
      "http without a path",
      () => checkIssuerUrl("http://x.example"),
      'issuer URL "http://x.example" must use the https scheme, not http',
      "use https://x.example (kube-apiserver and AWS STS accept only https)",
    ],
    [
      "user credentials",
      () => checkJwksUri("https://u:p@x.example/jwks", "--jwks"),
      'jwks_uri "https://u:p@x.example/jwks" contains user credentials',
      "remove the user:password@ part from --jwks",
    ],
    [
      "a query",
      () => checkIssuerUrl("https://x.example/c1?a=b"),
      'issuer URL "https://x.example/c1?a=b" has a query (?a=b); an OpenID issuer may not',
      'drop everything from "?" on: https://x.example/c1',
    ],
    [
      "a fragment",
      () => checkIssuerUrl("https://x.example/c1#top"),
      'issuer URL "https://x.example/c1#top" has a fragment (#top); an OpenID issuer may not',
      'drop everything from "#" on: https://x.example/c1',
    ],
    [
      "a jwks_uri fragment",
      () => checkJwksUri("https://x.example/jwks#k"),
      'jwks_uri "https://x.example/jwks#k" has a fragment (#k), which clients never send to the server',
      'drop everything from "#" on: https://x.example/jwks',
    ],
  ];
  for (const [what, call, message, hint] of cases) {
    it(`${what}: "${message}"`, () => {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof IrsaError);
        assert.equal(e.message, message);
        assert.equal(e.hint, hint);
        return true;
      });
    });
  }

  it("names every trailing slash in the different-issuer warning, and the port fix", () => {
    const [slash] = checkIssuerUrl("https://x.example//").warnings;
    assert.match(slash ?? "", /, and "https:\/\/x\.example" is a different issuer$/);
    const [port] = checkIssuerUrl("https://x.example:8443").warnings;
    assert.equal(
      port,
      'issuer URL "https://x.example:8443" has a port (8443): IAM OIDC provider URLs should not contain a port; ' +
        "publish the documents on 443 for AWS STS",
    );
  });

  it("the default jwks_uri drops every trailing slash of the issuer", () => {
    assert.equal(defaultJwksUri("https://x//"), "https://x/openid/v1/jwks");
  });
});
