/**
 * The issuer's pure core: rotation memory (merge, retention, damaged state), the documents it
 * publishes (parses, public-issuer check, rewrites), the write plan, ETags and the bucket policy.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  bucketIssuerUrl,
  bucketPolicy,
  checkBucketName,
  normalizePrefix,
  objectKey,
} from "../../src/core/issuer/bucket-policy.js";
import {
  checkPublicIssuer,
  DISCOVERY_CONTENT_TYPE,
  DISCOVERY_OBJECT,
  DOCUMENT_CACHE_CONTROL,
  JWKS_CONTENT_TYPE,
  JWKS_OBJECT,
  parseDiscovery,
  parseJwks,
  publishedDocuments,
  STATE_OBJECT,
  type JwkObject,
} from "../../src/core/issuer/documents.js";
import { etagOf, ifNoneMatchHits } from "../../src/core/issuer/http-cache.js";
import { sameObject, writesNeeded, type ObjectWrite, type StoredObject } from "../../src/core/issuer/plan.js";
import {
  DEFAULT_RETAIN_MS,
  EMPTY_STATE,
  mergeKeys,
  parseState,
  stateFromPublished,
  stateText,
} from "../../src/core/issuer/state.js";
import { renewAt } from "../../src/core/issuer/renewal.js";
import { parseTarget } from "../../src/core/issuer/targets.js";
import { discoveryDocument } from "../../src/core/oidc/discovery.js";
import { jwksDocument } from "../../src/core/oidc/jwks.js";
import { parseKeysPem } from "../../src/core/oidc/keys.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const HOUR = 3600_000;
const RETAIN = 25 * HOUR;
const T0 = Date.parse("2026-01-01T00:00:00Z");

const jwk = (kid: string, alg = "RS256"): JwkObject => ({
  use: "sig",
  kty: "RSA",
  kid,
  alg,
  n: "AQAB",
  e: "AQAB",
});
const kids = (ks: readonly JwkObject[]): string[] => ks.map((k) => k.kid);

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IrsaError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.describe(), message);
    return true;
  });
}

describe("mergeKeys: rotation memory", () => {
  it("publishes a new key at once and keeps an old one until --retain has passed, then drops it", () => {
    const a = jwk("a");
    const b = jwk("b");
    let m = mergeKeys([a], EMPTY_STATE, T0, RETAIN);
    assert.deepEqual(kids(m.published), ["a"]);
    assert.equal(m.changed, true);
    // Rotation step 1: new key b signs, a still in the key files.
    m = mergeKeys([b, a], m.state, T0 + HOUR, RETAIN);
    assert.deepEqual(kids(m.published), ["b", "a"]);
    // Step 2: a leaves the source; it stays published.
    const left = T0 + 2 * HOUR;
    m = mergeKeys([b], m.state, left, RETAIN);
    assert.deepEqual(kids(m.published), ["b", "a"]);
    assert.deepEqual(m.retained, ["a"]);
    assert.equal(m.state.keys.find((k) => k.kid === "a")?.removedAt, new Date(left).toISOString());
    // Still there a moment before --retain passes, and the state does not change meanwhile.
    const before = mergeKeys([b], m.state, left + RETAIN - 1, RETAIN);
    assert.deepEqual(kids(before.published), ["b", "a"]);
    assert.equal(before.changed, false, "nothing to write while nothing changes");
    // Dropped once --retain has passed since it left.
    const after = mergeKeys([b], m.state, left + RETAIN, RETAIN);
    assert.deepEqual(kids(after.published), ["b"]);
    assert.deepEqual(after.dropped, ["a"]);
    assert.equal(after.changed, true);
  });

  it("an unchanged source changes nothing, at any later time", () => {
    const m = mergeKeys([jwk("a")], EMPTY_STATE, T0, RETAIN);
    const again = mergeKeys([jwk("a")], m.state, T0 + 1000 * HOUR, RETAIN);
    assert.equal(again.changed, false);
    assert.equal(stateText(again.state), stateText(m.state));
  });

  it("a key that comes back is in the source again, not retained", () => {
    let m = mergeKeys([jwk("a"), jwk("b")], EMPTY_STATE, T0, RETAIN);
    m = mergeKeys([jwk("b")], m.state, T0 + HOUR, RETAIN);
    m = mergeKeys([jwk("a"), jwk("b")], m.state, T0 + 2 * HOUR, RETAIN);
    assert.deepEqual(m.retained, []);
    assert.equal(m.state.keys.find((k) => k.kid === "a")?.removedAt, undefined);
    // It leaves again: the clock starts again.
    m = mergeKeys([jwk("b")], m.state, T0 + 30 * HOUR, RETAIN);
    assert.deepEqual(kids(mergeKeys([jwk("b")], m.state, T0 + 54 * HOUR, RETAIN).published), ["b", "a"]);
  });

  it("--retain 0 drops a key as soon as it leaves", () => {
    const m = mergeKeys([jwk("a")], EMPTY_STATE, T0, 0);
    assert.deepEqual(kids(mergeKeys([jwk("b")], m.state, T0, 0).published), ["b"]);
  });

  it("duplicate kids in the source are published as given (kube-apiserver does not de-duplicate)", () => {
    const m = mergeKeys([jwk("a"), jwk("a")], EMPTY_STATE, T0, RETAIN);
    assert.deepEqual(kids(m.published), ["a", "a"]);
    assert.equal(m.state.keys.length, 1);
  });

  it("a target without state keeps the keys it already publishes for --retain", () => {
    const seeded = stateFromPublished([jwk("old"), jwk("cur")], T0);
    const m = mergeKeys([jwk("cur")], seeded, T0, RETAIN);
    assert.deepEqual(kids(m.published), ["cur", "old"]);
    assert.deepEqual(kids(mergeKeys([jwk("cur")], m.state, T0 + RETAIN, RETAIN).published), ["cur"]);
  });
});

describe("mergeKeys: one rule at a time", () => {
  it("a key listed twice in a state counts once", () => {
    const prev = {
      version: 1 as const,
      keys: [
        { kid: "a", jwk: jwk("a"), firstSeen: "2026-01-01T00:00:00.000Z" },
        { kid: "a", jwk: jwk("a"), firstSeen: "2026-01-02T00:00:00.000Z" },
      ],
    };
    const m = mergeKeys([jwk("a")], prev, T0, RETAIN);
    assert.deepEqual(m.state.keys, [{ kid: "a", jwk: jwk("a"), firstSeen: "2026-01-01T00:00:00.000Z" }]);
    assert.deepEqual(kids(m.published), ["a"]);
    assert.equal(m.changed, true);
  });
  it("a kid the source lists twice is remembered with its first copy", () => {
    const m = mergeKeys([jwk("a", "RS256"), jwk("a", "ES256")], EMPTY_STATE, T0, RETAIN);
    assert.deepEqual(m.state.keys, [
      { kid: "a", jwk: jwk("a", "RS256"), firstSeen: new Date(T0).toISOString() },
    ]);
    const again = mergeKeys([jwk("a", "RS256"), jwk("a", "ES256")], m.state, T0 + HOUR, RETAIN);
    assert.equal(again.state.keys[0]?.jwk["alg"], "RS256");
    assert.equal(again.changed, false);
  });
  it("a key in the source keeps its first publication time; a new one is stamped now", () => {
    const m = mergeKeys([jwk("b"), jwk("a")], stateFromPublished([jwk("a")], T0), T0 + HOUR, RETAIN);
    assert.deepEqual(m.state.keys, [
      { kid: "a", jwk: jwk("a"), firstSeen: new Date(T0).toISOString() },
      { kid: "b", jwk: jwk("b"), firstSeen: new Date(T0 + HOUR).toISOString() },
    ]);
    assert.deepEqual(m.retained, []);
    assert.deepEqual(m.dropped, []);
  });
  it("the source's own copy of a key is published, not the state's", () => {
    const m = mergeKeys(
      [jwk("a", "ES256")],
      mergeKeys([jwk("a")], EMPTY_STATE, T0, RETAIN).state,
      T0,
      RETAIN,
    );
    assert.equal(m.published[0]?.["alg"], "ES256");
    assert.equal(m.state.keys[0]?.jwk["alg"], "ES256");
  });
  it("a key that left keeps its first publication time and the time it left", () => {
    let m = mergeKeys([jwk("a"), jwk("b")], EMPTY_STATE, T0, RETAIN);
    m = mergeKeys([jwk("b")], m.state, T0 + HOUR, RETAIN);
    m = mergeKeys([jwk("b")], m.state, T0 + 2 * HOUR, RETAIN);
    assert.deepEqual(m.state.keys[0], {
      kid: "a",
      jwk: jwk("a"),
      firstSeen: new Date(T0).toISOString(),
      removedAt: new Date(T0 + HOUR).toISOString(),
    });
    assert.deepEqual(m.retained, ["a"]);
  });
  it("a target's published keys seed the state once each, as just removed", () => {
    assert.deepEqual(stateFromPublished([jwk("a"), jwk("a", "ES256"), jwk("b")], T0), {
      version: 1,
      keys: [
        {
          kid: "a",
          jwk: jwk("a"),
          firstSeen: new Date(T0).toISOString(),
          removedAt: new Date(T0).toISOString(),
        },
        {
          kid: "b",
          jwk: jwk("b"),
          firstSeen: new Date(T0).toISOString(),
          removedAt: new Date(T0).toISOString(),
        },
      ],
    });
  });
  it("the state text is indented JSON ending in a newline", () => {
    assert.equal(stateText(EMPTY_STATE), '{\n  "version": 1,\n  "keys": []\n}\n');
  });
});

describe("parseState", () => {
  const good = stateText(mergeKeys([jwk("a")], EMPTY_STATE, T0, RETAIN).state);
  it("reads back what stateText writes", () => {
    assert.equal(stateText(parseState(good, "s")), good);
  });
  it("reads a state without keys as empty, and a key without firstSeen as published at the epoch", () => {
    assert.deepEqual(parseState('{"version":1}', "s"), EMPTY_STATE);
    assert.deepEqual(parseState('{"version":1,"keys":[{"kid":"a","jwk":{"kid":"a"}}]}', "s"), {
      version: 1,
      keys: [{ kid: "a", jwk: { kid: "a" }, firstSeen: "1970-01-01T00:00:00.000Z" }],
    });
    assert.deepEqual(
      parseState(
        '{"version":1,"keys":[{"kid":"a","jwk":{"kid":"a"},"firstSeen":"2026-01-01T00:00:00Z","removedAt":"2026-01-02T00:00:00Z"}]}',
        "s",
      ).keys[0],
      { kid: "a", jwk: { kid: "a" }, firstSeen: "2026-01-01T00:00:00Z", removedAt: "2026-01-02T00:00:00Z" },
    );
  });
  it("a refusal names the object and says it is rebuilt", () => {
    throwsCode(
      () => parseState("[]", "s3://b/st"),
      "STATE_INVALID",
      /^state object s3:\/\/b\/st: \(document\): expected an object\n {2}hint: it is rebuilt from the published JWKS; delete it if it keeps failing$/,
    );
    throwsCode(
      () => parseState("x", "s3://b/st"),
      "STATE_INVALID",
      /^state object s3:\/\/b\/st is not JSON \(truncated or overwritten\?\): .*\n {2}hint: it is rebuilt/,
    );
    throwsCode(
      () => parseState('{"version":1,"keys":[{"kid":"a","jwk":{"kid":"a"},"firstSeen":"x"}]}', "s"),
      "STATE_INVALID",
      /keys\[0\]\.firstSeen: "x" is not a time/,
    );
    throwsCode(() => parseState('{"keys":[]}', "s"), "STATE_INVALID", /version: expected 1, got undefined/);
  });
  for (const [name, text, message] of [
    ["truncated", good.slice(0, good.length / 2), /not JSON \(truncated/],
    ["empty", "", /not JSON/],
    ["another version", '{"version":2,"keys":[]}', /version: expected 1/],
    [
      "kid not matching its JWK",
      '{"version":1,"keys":[{"kid":"a","jwk":{"kid":"b"}}]}',
      /keys\[0\]\.jwk\.kid/,
    ],
    [
      "bad time",
      '{"version":1,"keys":[{"kid":"a","jwk":{"kid":"a"},"removedAt":"soon"}]}',
      /removedAt: "soon" is not a time/,
    ],
    ["keys not an array", '{"version":1,"keys":{}}', /keys: expected an array/],
  ] as const) {
    it(`refuses a state object: ${name}`, () => {
      throwsCode(() => parseState(text, "s3://b/irsa-issuer-state.json"), "STATE_INVALID", message);
    });
  }
});

describe("state and document refusals, word for word", () => {
  it("keeps a key that left for 25 hours by default (a day's tokens, plus margin)", () => {
    assert.equal(DEFAULT_RETAIN_MS, 25 * HOUR);
  });
  it("a state object that is not JSON keeps the parser's error as its cause", () => {
    assert.throws(
      () => parseState("{", "s"),
      (e: unknown) => e instanceof IrsaError && e.cause instanceof SyntaxError,
    );
  });
  it("a state of another version says which version it holds", () => {
    throwsCode(
      () => parseState('{"version":2}', "s"),
      "STATE_INVALID",
      /^state object s: version: expected 1, got 2\n/,
    );
  });
  it("a state whose keys are not an array names the field from the root", () => {
    throwsCode(
      () => parseState('{"version":1,"keys":{}}', "s"),
      "STATE_INVALID",
      /^state object s: keys: expected an array, got an object\n/,
    );
  });
  it("a state key whose JWK names another kid says which kid it expected", () => {
    throwsCode(
      () => parseState('{"version":1,"keys":[{"kid":"a","jwk":{"kid":"b"}}]}', "s"),
      "STATE_INVALID",
      /^state object s: keys\[0\]\.jwk\.kid: does not match kid "a"\n/,
    );
  });
  it("a JWKS parse error keeps the parser's error as its cause", () => {
    assert.throws(
      () => parseJwks("{", "W"),
      (e: unknown) => e instanceof IrsaError && e.cause instanceof SyntaxError,
    );
  });
  it("a JWKS whose keys are not an array names the field from the root", () => {
    throwsCode(
      () => parseJwks('{"keys":1}', "W"),
      "SOURCE_INVALID",
      /^JWKS from W: keys: expected an array, got a number\n/,
    );
  });
  it("a discovery document without jwks_uri names the field from the root", () => {
    throwsCode(
      () => parseDiscovery('{"issuer":"https://x"}', "W"),
      "SOURCE_INVALID",
      /^discovery document from W: jwks_uri: required string is missing\n/,
    );
  });
  it("an empty cluster issuer's refusal names kube-apiserver's flag", () => {
    throwsCode(
      () => publishedDocuments({ doc: {}, issuer: "", jwksUri: "" }, [jwk("a")]),
      "URL_INVALID",
      /hint: pass an https URL with kube-apiserver --service-account-issuer$/,
    );
  });
  it("keeps the source's algorithm list when a key names none, even if the others name another", () => {
    const p = publishedDocuments(
      {
        doc: {
          issuer: "https://x.example",
          jwks_uri: "https://x.example/openid/v1/jwks",
          id_token_signing_alg_values_supported: ["RS256"],
        },
        issuer: "https://x.example",
        jwksUri: "https://x.example/openid/v1/jwks",
      },
      [jwk("a", "ES256"), { kty: "RSA", kid: "b" }],
    );
    assert.deepEqual(p.rewrites, []);
    assert.deepEqual(
      (JSON.parse(p.discovery) as Record<string, unknown>)["id_token_signing_alg_values_supported"],
      ["RS256"],
    );
  });
  it("a bad bucket name's hint names --bucket unless told another flag", () => {
    throwsCode(() => checkBucketName("B"), "INPUT_INVALID", /hint: give --bucket 3-63/);
  });
  it("refuses a bucket name shaped like an IP address with multi-digit parts", () => {
    for (const b of ["10.0.10.200", "1.22.333.44"])
      throwsCode(() => checkBucketName(b), "INPUT_INVALID", /not an S3 bucket name/);
  });
});

describe("source documents", () => {
  for (const [name, text, message] of [
    ["empty body", "", /is empty/],
    ["an HTML error page", "<html>502</html>", /not JSON/],
    ["no keys field", "{}", /keys: required array is missing/],
    ["an empty key set", '{"keys":[]}', /has no keys/],
    ["a key without kid", '{"keys":[{"kty":"RSA"}]}', /keys\[0\]\.kid: required string is missing/],
    ["a key that is not an object", '{"keys":[1]}', /keys\[0\]: expected an object/],
  ] as const) {
    it(`refuses a JWKS: ${name}`, () => {
      throwsCode(() => parseJwks(text, "https://api:6443/openid/v1/jwks"), "SOURCE_INVALID", message);
    });
  }
  it("a JWKS of white space is empty, and the hint names where it came from", () => {
    throwsCode(
      () => parseJwks(" \n", "W"),
      "SOURCE_INVALID",
      /^JWKS from W is empty\n {2}hint: check that W serves it$/,
    );
  });
  it("refusals of a JWKS name the document, the source and the field", () => {
    throwsCode(
      () => parseJwks("<html>", "W"),
      "SOURCE_INVALID",
      /^JWKS from W is not JSON: .*\n {2}hint: check that W serves the document itself, not an error page$/,
    );
    throwsCode(
      () => parseJwks("[]", "W"),
      "SOURCE_INVALID",
      /^JWKS from W: \(document\): expected an object with a keys array\n {2}hint: check the document W serves$/,
    );
    throwsCode(
      () => parseJwks('{"keys":[{"kid":"a"}]}', "W"),
      "SOURCE_INVALID",
      /keys\[0\]\.kty: required string is missing/,
    );
    throwsCode(
      () => parseJwks('{"keys":[]}', "W"),
      "SOURCE_INVALID",
      /^JWKS from W has no keys; publishing it would make every token fail\n {2}hint: give kube-apiserver --service-account-key-file, or --key files, with the public keys$/,
    );
  });
  it("reads a discovery document's issuer and jwks_uri, and refuses one that is not an object or has no issuer", () => {
    assert.deepEqual(parseDiscovery('{"issuer":"https://x","jwks_uri":"https://x/k","a":1}', "d"), {
      doc: { issuer: "https://x", jwks_uri: "https://x/k", a: 1 },
      issuer: "https://x",
      jwksUri: "https://x/k",
    });
    throwsCode(
      () => parseDiscovery("[]", "W"),
      "SOURCE_INVALID",
      /^discovery document from W: \(document\): expected an object\n/,
    );
    throwsCode(
      () => parseDiscovery('{"jwks_uri":"x"}', "W"),
      "SOURCE_INVALID",
      /^discovery document from W: issuer: required string is missing/,
    );
    throwsCode(() => parseDiscovery("", "W"), "SOURCE_INVALID", /^discovery document from W is empty/);
  });
  it("refuses a discovery document without jwks_uri", () => {
    throwsCode(() => parseDiscovery('{"issuer":"https://x"}', "d"), "SOURCE_INVALID", /jwks_uri/);
  });
});

describe("publishedDocuments", () => {
  const pem = readFileSync(join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem"), "utf8");
  const keys = parseKeysPem(pem, "vector").map((k) => k.publicKey);
  const issuer = "https://oidc.example.com/c1";

  it("with nothing to rewrite, the bytes are kube-apiserver's", () => {
    const disc = discoveryDocument(issuer, `${issuer}/openid/v1/jwks`, keys);
    const jwks = jwksDocument(keys);
    const p = publishedDocuments(parseDiscovery(disc, "d"), parseJwks(jwks, "j"), issuer);
    assert.equal(p.discovery, disc);
    assert.equal(p.jwks, jwks);
    assert.deepEqual(p.rewrites, []);
  });

  it("rewrites an internal jwks_uri to <issuer>/openid/v1/jwks", () => {
    const disc = discoveryDocument(issuer, "https://10.0.0.1:6443/openid/v1/jwks", keys);
    const p = publishedDocuments(parseDiscovery(disc, "d"), parseJwks(jwksDocument(keys), "j"), issuer);
    assert.equal(p.discovery, discoveryDocument(issuer, `${issuer}/openid/v1/jwks`, keys));
    assert.match(p.rewrites[0] ?? "", /10\.0\.0\.1:6443/);
  });

  it("lists the algorithms of retained keys too", () => {
    const disc = discoveryDocument(issuer, `${issuer}/openid/v1/jwks`, keys);
    const src = parseJwks(jwksDocument(keys), "j");
    const p = publishedDocuments(parseDiscovery(disc, "d"), [...src, jwk("ec", "ES256")], issuer);
    assert.deepEqual(
      (JSON.parse(p.discovery) as Record<string, unknown>)["id_token_signing_alg_values_supported"],
      ["ES256", "RS256"],
    );
  });

  it("without --public-issuer, any valid cluster issuer is published", () => {
    const local = "https://127.0.0.1:6443";
    const disc = discoveryDocument(local, `${local}/openid/v1/jwks`, keys);
    assert.equal(
      publishedDocuments(parseDiscovery(disc, "d"), parseJwks(jwksDocument(keys), "j")).discovery,
      disc,
    );
  });

  it("says what it rewrote, old value to new", () => {
    const disc = discoveryDocument(issuer, "https://10.0.0.1:6443/openid/v1/jwks", keys);
    const p = publishedDocuments(parseDiscovery(disc, "d"), [
      ...parseJwks(jwksDocument(keys), "j"),
      jwk("ec", "ES256"),
    ]);
    assert.deepEqual(p.rewrites, [
      `jwks_uri "https://10.0.0.1:6443/openid/v1/jwks" → "${issuer}/openid/v1/jwks"`,
      'id_token_signing_alg_values_supported ["RS256"] → ["ES256","RS256"]',
    ]);
    assert.equal((JSON.parse(p.jwks) as { keys: unknown[] }).keys.length, 2);
  });

  it("keeps the source's algorithm list when a key names no algorithm", () => {
    const disc = discoveryDocument(issuer, `${issuer}/openid/v1/jwks`, keys);
    const noAlg: JwkObject = { kty: "RSA", kid: "x" };
    const p = publishedDocuments(parseDiscovery(disc, "d"), [...parseJwks(jwksDocument(keys), "j"), noAlg]);
    assert.deepEqual(p.rewrites, []);
    assert.deepEqual(
      (JSON.parse(p.discovery) as Record<string, unknown>)["id_token_signing_alg_values_supported"],
      ["RS256"],
    );
  });

  it("lists each algorithm once, sorted", () => {
    const disc = discoveryDocument(issuer, `${issuer}/openid/v1/jwks`, keys);
    const p = publishedDocuments(parseDiscovery(disc, "d"), [
      jwk("a", "RS256"),
      jwk("b", "ES256"),
      jwk("c", "RS256"),
    ]);
    assert.deepEqual(
      (JSON.parse(p.discovery) as Record<string, unknown>)["id_token_signing_alg_values_supported"],
      ["ES256", "RS256"],
    );
  });

  it("the mismatch refusal says what tokens carry and how to keep old tokens valid", () => {
    throwsCode(
      () => {
        checkPublicIssuer("https://a", "https://b");
      },
      "ISSUER_MISMATCH",
      /^the cluster's issuer is "https:\/\/a" but --public-issuer is "https:\/\/b": tokens carry iss "https:\/\/a", so STS would never find them under "https:\/\/b"\n {2}hint: set kube-apiserver --service-account-issuer=https:\/\/b \(keep "https:\/\/a" as a second --service-account-issuer while its tokens are live\), or correct --public-issuer$/,
    );
    checkPublicIssuer("https://a", "https://a"); // the same issuer passes
  });

  it("documents are served as application/json, cached for a minute", () => {
    assert.equal(DISCOVERY_CONTENT_TYPE, "application/json");
    assert.equal(JWKS_CONTENT_TYPE, "application/json");
    assert.equal(DOCUMENT_CACHE_CONTROL, "public, max-age=60");
    assert.deepEqual(
      [DISCOVERY_OBJECT, JWKS_OBJECT, STATE_OBJECT],
      [".well-known/openid-configuration", "openid/v1/jwks", "irsa-issuer-state.json"],
    );
  });

  it("refuses a cluster issuer other than --public-issuer, naming the kube-apiserver flag", () => {
    const disc = discoveryDocument("https://127.0.0.1:6443", "https://127.0.0.1:6443/openid/v1/jwks", keys);
    throwsCode(
      () => publishedDocuments(parseDiscovery(disc, "d"), parseJwks(jwksDocument(keys), "j"), issuer),
      "ISSUER_MISMATCH",
      /--service-account-issuer=https:\/\/oidc\.example\.com\/c1/,
    );
  });

  it("refuses a trailing-slash difference (STS compares strings)", () => {
    const disc = discoveryDocument(`${issuer}/`, `${issuer}/openid/v1/jwks`, keys);
    throwsCode(
      () => publishedDocuments(parseDiscovery(disc, "d"), parseJwks(jwksDocument(keys), "j"), issuer),
      "ISSUER_MISMATCH",
    );
  });
});

describe("writesNeeded", () => {
  const w = (name: string, body: string): ObjectWrite => ({
    name,
    body,
    contentType: "application/json",
    cacheControl: undefined,
  });
  const stored = (body: string, contentType?: string): StoredObject => ({
    body: Buffer.from(body),
    contentType,
  });
  const desired = [w(DISCOVERY_OBJECT, "d"), w(JWKS_OBJECT, "j"), w(STATE_OBJECT, "s")];

  it("writes state, then JWKS, then discovery", () => {
    assert.deepEqual(
      writesNeeded(desired, new Map()).map((x) => x.name),
      [STATE_OBJECT, JWKS_OBJECT, DISCOVERY_OBJECT],
    );
  });
  it("writes nothing when everything is current (a directory has no content types)", () => {
    const cur = new Map([
      [DISCOVERY_OBJECT, stored("d")],
      [JWKS_OBJECT, stored("j", "application/json")],
      [STATE_OBJECT, stored("s")],
    ]);
    assert.deepEqual(writesNeeded(desired, cur), []);
  });
  it("rewrites an object with the wrong content type or bytes", () => {
    const cur = new Map([
      [DISCOVERY_OBJECT, stored("d", "binary/octet-stream")],
      [JWKS_OBJECT, stored("j2")],
      [STATE_OBJECT, stored("s")],
    ]);
    assert.deepEqual(
      writesNeeded(desired, cur).map((x) => x.name),
      [JWKS_OBJECT, DISCOVERY_OBJECT],
    );
  });
});

describe("sameObject", () => {
  const want: ObjectWrite = {
    name: "n",
    body: "b",
    contentType: "application/json",
    cacheControl: undefined,
  };
  it("an absent object, other bytes or another content type is not the same; no content type compares bytes", () => {
    assert.equal(sameObject(undefined, want), false);
    assert.equal(sameObject({ body: Buffer.from("b"), contentType: "application/json" }, want), true);
    assert.equal(sameObject({ body: Buffer.from("b"), contentType: undefined }, want), true);
    assert.equal(sameObject({ body: Buffer.from("b"), contentType: "text/plain" }, want), false);
    assert.equal(sameObject({ body: Buffer.from("c"), contentType: undefined }, want), false);
  });
  it("an object not in the write order is written after the three", () => {
    const w = (name: string): ObjectWrite => ({ ...want, name });
    assert.deepEqual(
      writesNeeded([w("extra"), w(DISCOVERY_OBJECT), w(STATE_OBJECT)], new Map()).map((x) => x.name),
      [STATE_OBJECT, DISCOVERY_OBJECT, "extra"],
    );
  });
});

describe("HTTP caching", () => {
  const etag = etagOf("body");
  it("a strong quoted ETag of the bytes", () => {
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
    assert.notEqual(etagOf("body2"), etag);
  });
  for (const [header, hit] of [
    [undefined, false],
    ["", false],
    [etag, true],
    [`W/${etag}`, true],
    [`"other", ${etag}`, true],
    ['"other"', false],
    [` ,${etag} `, true],
    ["W/*", false],
    [",", false],
    ["*", true],
    [etag.slice(1, -1), false],
  ] as const) {
    it(`If-None-Match ${JSON.stringify(header)} → ${hit ? "304" : "200"}`, () => {
      assert.equal(ifNoneMatchHits(header, etag), hit);
    });
  }
});

describe("If-None-Match against a weak ETag", () => {
  it("compares weakly both ways (RFC 9110)", () => {
    assert.equal(ifNoneMatchHits('"x"', 'W/"x"'), true);
    assert.equal(ifNoneMatchHits('W/"x"', 'W/"x"'), true);
    assert.equal(ifNoneMatchHits('"y"', 'W/"x"'), false);
    assert.equal(ifNoneMatchHits("", ""), false);
  });
});

describe("targets and the bucket policy", () => {
  for (const [text, want] of [
    ["s3://my-bucket", { kind: "s3", bucket: "my-bucket", prefix: "" }],
    ["s3://my-bucket/", { kind: "s3", bucket: "my-bucket", prefix: "" }],
    ["s3://my-bucket/clusters/prod/", { kind: "s3", bucket: "my-bucket", prefix: "clusters/prod" }],
    ["dir:///srv/oidc", { kind: "dir", path: "/srv/oidc" }],
  ] as const) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseTarget(text), { ...want, text });
    });
  }
  for (const [text, message] of [
    ["https://bucket", /unknown scheme/],
    ["s3://", /no bucket/],
    ["s3://My_Bucket", /not an S3 bucket name/],
    ["dir://", /no directory/],
    ["s3://b-1/a//b", /empty path segment/],
  ] as const) {
    it(`refuses ${text}`, () => {
      assert.throws(
        () => parseTarget(text),
        (e: unknown) => e instanceof IrsaError && message.test(e.message),
      );
    });
  }

  it("the policy grants s3:GetObject on exactly the two objects to anyone, nothing else", () => {
    const p = JSON.parse(bucketPolicy("my-oidc", "/c1/")) as {
      Statement: { Effect: string; Principal: string; Action: string; Resource: string[] }[];
    };
    assert.equal(p.Statement.length, 1);
    const [s] = p.Statement;
    assert.deepEqual(s, {
      Sid: "IrsaIssuerDocumentsPublicRead",
      Effect: "Allow",
      Principal: "*",
      Action: "s3:GetObject",
      Resource: [
        "arn:aws:s3:::my-oidc/c1/.well-known/openid-configuration",
        "arn:aws:s3:::my-oidc/c1/openid/v1/jwks",
      ],
    });
    assert.deepEqual(
      (JSON.parse(bucketPolicy("b-1", undefined, "aws-cn")) as typeof p).Statement[0]?.Resource,
      ["arn:aws-cn:s3:::b-1/.well-known/openid-configuration", "arn:aws-cn:s3:::b-1/openid/v1/jwks"],
    );
  });
  it("refuses a target naming the flag and the forms it takes", () => {
    assert.throws(
      () => parseTarget("ftp://x", "--target"),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.code === "TARGET_INVALID" &&
        e.describe() ===
          '--target "ftp://x": unknown scheme\n  hint: write s3://BUCKET[/PREFIX] or dir:///absolute/path (dir://relative/path is relative to the working directory)',
    );
    assert.throws(
      () => parseTarget("s3://ab", "--target"),
      (e: unknown) =>
        e instanceof IrsaError && /hint: give --target 3-63 lower-case letters/.test(e.describe()),
    );
    assert.throws(() => parseTarget("s3:///x"), /--to "s3:\/\/\/x": no bucket name/);
  });
  it("parses s3://bucket/prefix without a trailing slash, and a relative dir://", () => {
    assert.deepEqual(parseTarget("s3://b-1/p"), {
      kind: "s3",
      bucket: "b-1",
      prefix: "p",
      text: "s3://b-1/p",
    });
    assert.deepEqual(parseTarget("dir://out"), { kind: "dir", path: "out", text: "dir://out" });
  });
  it("a bucket name: 3 to 63 characters, a letter or digit at each end, not an IP address", () => {
    for (const b of ["abc", "a".repeat(63), "a1.2.3.4", "1.2.3.4a", "1.2.3", "a-b.c"])
      assert.equal(checkBucketName(b), b);
    for (const b of ["a".repeat(64), "-abc", "abc-", ".abc", "abc.", "1.2.3.4", "ab_c"]) {
      assert.throws(
        () => checkBucketName(b, "--bkt"),
        (e: unknown) =>
          e instanceof IrsaError &&
          e.describe() ===
            `"${b}" is not an S3 bucket name\n  hint: give --bkt 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit`,
        b,
      );
    }
  });
  it("a prefix loses its leading and trailing slashes; an object key joins it with a slash", () => {
    assert.equal(normalizePrefix("//a/b//"), "a/b");
    assert.equal(normalizePrefix(undefined), "");
    assert.equal(normalizePrefix("/"), "");
    assert.equal(objectKey("", "o"), "o");
    assert.equal(objectKey("a/b", "o"), "a/b/o");
  });
  it("the policy is indented JSON ending in a newline, and checks the bucket name", () => {
    const text = bucketPolicy("b-1", "");
    assert.ok(text.startsWith('{\n  "Version": "2012-10-17",\n'), text);
    assert.ok(text.endsWith("}\n"), text);
    assert.throws(() => bucketPolicy("B", ""), /not an S3 bucket name/);
  });
  it("a bucket's issuer URL is virtual-hosted style, with the prefix as its path", () => {
    assert.equal(bucketIssuerUrl("b-1", "eu-west-1", undefined), "https://b-1.s3.eu-west-1.amazonaws.com");
    assert.equal(bucketIssuerUrl("b-1", "eu-west-1", "/c/1/"), "https://b-1.s3.eu-west-1.amazonaws.com/c/1");
  });
  it("refuses a bucket name S3 would refuse", () => {
    for (const b of ["ab", "a..b", "192.168.0.1", "-ab", "UPPER"]) {
      assert.throws(() => checkBucketName(b), IrsaError, b);
    }
  });
});

describe("renewAt", () => {
  it("is two thirds of the lifetime after notBefore", () => {
    const from = new Date("2026-03-01T00:00:00Z");
    assert.equal(renewAt(from, new Date("2026-05-30T00:00:00Z")), Date.parse("2026-04-30T00:00:00Z"));
    assert.equal(renewAt(from, new Date(from.getTime() + 100)), from.getTime() + 66);
    assert.equal(renewAt(from, new Date(from.getTime() + 60_000)), from.getTime() + 40_000);
  });
});
