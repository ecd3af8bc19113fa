/**
 * The local STS's config (providers and roles, each problem naming its field) and its JWKS keys
 * (which keys are kept, what each skipped one says, which key fits which algorithm, and a token
 * of every supported algorithm verified). Pure; real keys from jose.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, verify } from "node:crypto";
import { before, describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import { checkWebIdentity } from "../../src/core/sts/check.js";
import { parseStsConfig, withTrustPolicyText } from "../../src/core/sts/config.js";
import { keyFits, parseJwks, verifySignature, type VerificationKey } from "../../src/core/sts/keys.js";
import {
  AUD,
  ISSUER,
  ROLE_ARN,
  TRUST_POLICY,
  jwksOf,
  signToken,
  signingKey,
  staticResolver,
  stsConfig,
  type SigningKey,
} from "../support/sts.js";

const provider = (over: Record<string, unknown> = {}) => ({ url: ISSUER, clientIds: [AUD], ...over });
const role = (over: Record<string, unknown> = {}) => ({ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, ...over });

function refused(v: unknown, message: string): void {
  assert.throws(
    () => parseStsConfig(v),
    (e: unknown) => {
      assert.ok(e instanceof IrsaError);
      assert.equal(e.code, "STS_CONFIG_INVALID");
      assert.equal(e.message, `STS config: ${message}`);
      assert.equal(e.hint, "fix the STS config file (see: irsa sts serve --help)");
      return true;
    },
  );
}

describe("parseStsConfig: providers", () => {
  it("keeps the client IDs, the optional jwksFile and caFile, and the issuer with https://", () => {
    const c = parseStsConfig({
      providers: [provider({ clientIds: [AUD, "c2"], jwksFile: "j.json", caFile: "ca.pem" })],
    });
    assert.deepEqual(c, {
      providers: [
        {
          issuer: ISSUER,
          hostPath: "oidc.example.com/cluster-1",
          clientIds: [AUD, "c2"],
          jwksFile: "j.json",
          caFile: "ca.pem",
        },
      ],
      roles: [],
    });
    assert.deepEqual(parseStsConfig({}), { providers: [], roles: [] });
  });

  const bad: [string, unknown, string][] = [
    [
      "a query in the URL",
      provider({ url: "https://x.example.com/?a=1" }),
      "providers[0].url: an IAM OIDC provider URL has no query or fragment",
    ],
    [
      "a fragment in the URL",
      provider({ url: "x.example.com#f" }),
      "providers[0].url: an IAM OIDC provider URL has no query or fragment",
    ],
    [
      "another scheme",
      provider({ url: "HTTP://x.example.com" }),
      'providers[0].url: must be https (IAM accepts only https), got "HTTP://x.example.com"',
    ],
    ["no host", provider({ url: "https://" }), "providers[0].url: has no host"],
    ["a path without host", provider({ url: "/c1" }), "providers[0].url: has no host"],
    [
      "an empty client ID list",
      provider({ clientIds: [] }),
      "providers[0].clientIds: needs at least one entry",
    ],
    [
      "an empty client ID",
      provider({ clientIds: [AUD, ""] }),
      "providers[0].clientIds[1]: expected a non-empty string, got a string",
    ],
    [
      "a client ID that is not a string",
      provider({ clientIds: [7] }),
      "providers[0].clientIds[0]: expected a non-empty string, got a number",
    ],
    [
      "a client ID over 255 characters",
      provider({ clientIds: ["c".repeat(256)] }),
      "providers[0].clientIds[0]: is longer than 255 characters (IAM's limit)",
    ],
    [
      "101 client IDs",
      provider({ clientIds: Array.from({ length: 101 }, (_, i) => `c${i}`) }),
      "providers[0].clientIds: has more than 100 entries (IAM's limit)",
    ],
  ];
  for (const [why, p, message] of bad) {
    it(`refuses ${why}, naming the field`, () => {
      refused({ providers: [p] }, message);
    });
  }

  it("takes a scheme-less URL with a colon in its path, 255-character client IDs and 100 of them", () => {
    const c = parseStsConfig({
      providers: [
        provider({ url: "x.example.com/a:b", clientIds: ["c".repeat(255)] }),
        provider({ url: "y.example.com", clientIds: Array.from({ length: 100 }, (_, i) => `c${i}`) }),
      ],
    });
    assert.equal(c.providers[0]?.issuer, "https://x.example.com/a:b");
    assert.equal(c.providers[1]?.clientIds.length, 100);
  });

  it("reads a scheme only at the URL's start: a scheme-less URL whose path holds http:// is taken", () => {
    const c = parseStsConfig({ providers: [provider({ url: "x.example.com/to/http://y" })] });
    assert.equal(c.providers[0]?.issuer, "https://x.example.com/to/http://y");
    assert.equal(c.providers[0].hostPath, "x.example.com/to/http://y");
  });

  it("names providers and roles from the document's root when they are not lists of objects", () => {
    refused({ providers: 5 }, "providers: expected an array, got a number");
    refused({ providers: [provider(), "p"] }, "providers[1]: expected an object, got a string");
    refused({ roles: {} }, "roles: expected an array, got an object");
    refused({ roles: [null] }, "roles[0]: expected an object, got null");
  });

  it("refuses two providers with the same issuer, naming the second", () => {
    refused(
      { providers: [provider(), provider({ url: "oidc.example.com/cluster-1" })] },
      `providers[1].url: duplicates another provider (${ISSUER})`,
    );
  });
});

describe("parseStsConfig: roles", () => {
  it("keeps the ARN taken apart, the policy and maxSessionDuration (3600 by default)", () => {
    const c = parseStsConfig({ roles: [role(), role({ arn: `${ROLE_ARN}2`, maxSessionDuration: 43200 })] });
    assert.equal(c.roles[0]?.arn.name, "app");
    assert.equal(c.roles[0].maxSessionDuration, 3600);
    assert.equal(c.roles[0].trustPolicyFile, undefined);
    assert.ok(c.roles[0].trustPolicy);
    assert.equal(c.roles[1]?.maxSessionDuration, 43200);
    const file = parseStsConfig({
      roles: [{ arn: ROLE_ARN, trustPolicyFile: "p.json", maxSessionDuration: 3600 }],
    });
    assert.equal(file.roles[0]?.trustPolicyFile, "p.json");
    assert.equal(file.roles[0].trustPolicy, undefined);
  });

  const bad: [string, unknown, string][] = [
    [
      "neither trustPolicy nor trustPolicyFile",
      { arn: ROLE_ARN },
      "roles[0]: needs exactly one of trustPolicy and trustPolicyFile",
    ],
    [
      "maxSessionDuration 3599",
      role({ maxSessionDuration: 3599 }),
      "roles[0].maxSessionDuration: must be an integer from 3600 to 43200 (IAM's range), got 3599",
    ],
    [
      "maxSessionDuration 43201",
      role({ maxSessionDuration: 43201 }),
      "roles[0].maxSessionDuration: must be an integer from 3600 to 43200 (IAM's range), got 43201",
    ],
    [
      "maxSessionDuration 3600.5",
      role({ maxSessionDuration: 3600.5 }),
      "roles[0].maxSessionDuration: must be an integer from 3600 to 43200 (IAM's range), got 3600.5",
    ],
    [
      "maxSessionDuration as a string",
      role({ maxSessionDuration: "3600" }),
      'roles[0].maxSessionDuration: must be an integer from 3600 to 43200 (IAM\'s range), got "3600"',
    ],
    [
      "a role ARN that is not one",
      role({ arn: "arn:aws:iam::111122223333:user/app" }),
      'roles[0].arn: "arn:aws:iam::111122223333:user/app" is not a role ARN (arn:aws:iam::123456789012:role/NAME)',
    ],
    ["a trust policy that does not parse", role({ trustPolicy: { Statement: [{ Effect: "Maybe" }] } }), ""],
  ];
  for (const [why, r, message] of bad) {
    it(`refuses ${why}, naming the field`, () => {
      if (message !== "") {
        refused({ roles: [r] }, message);
        return;
      }
      assert.throws(
        () => parseStsConfig({ roles: [r] }),
        (e: unknown) =>
          e instanceof IrsaError &&
          /^STS config: roles\[0\]\.trustPolicy: Statement\[0\]\.Effect/.test(e.message),
      );
    });
  }

  it("refuses two roles with the same ARN, naming the second", () => {
    refused({ roles: [role(), role()] }, `roles[1].arn: duplicates another role (${ROLE_ARN})`);
  });

  it("refuses an unknown top-level field, naming it", () => {
    refused({ providers: [], rules: [] }, "rules: unknown field (expected providers and roles)");
    refused(null, "(top): expected an object with providers and roles, got null");
  });

  it("withTrustPolicyText parses a policy file into its role, or names the role and file", () => {
    const [r] = parseStsConfig({ roles: [{ arn: ROLE_ARN, trustPolicyFile: "p.json" }] }).roles;
    assert.ok(r);
    const filled = withTrustPolicyText(r, 0, JSON.stringify(TRUST_POLICY));
    assert.ok(filled.trustPolicy);
    assert.equal(filled.arn, r.arn);
    assert.throws(
      () => withTrustPolicyText(r, 3, '{"Statement":[{"Effect":"Maybe"}]}'),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.code === "STS_CONFIG_INVALID" &&
        /^STS config: roles\[3\]\.trustPolicyFile \(p\.json\): Statement\[0\]\.Effect/.test(e.message),
    );
  });
});

describe("parseJwks", () => {
  let rsa: SigningKey;
  let ec: SigningKey;
  before(async () => {
    rsa = await signingKey("RS256", "r1");
    ec = await signingKey("ES384", "e1");
  });

  it("keeps kid, kty, alg and crv of each signing key; use and alg may be absent", () => {
    const bare = { ...ec.jwk };
    delete bare.use;
    delete bare.alg;
    const set = parseJwks(JSON.stringify({ keys: [rsa.jwk, bare] }));
    assert.deepEqual(set.problems, []);
    assert.deepEqual(
      set.keys.map((k) => [k.kid, k.kty, k.alg, k.crv]),
      [
        ["r1", "RSA", "RS256", undefined],
        ["e1", "EC", undefined, "P-384"],
      ],
    );
  });

  it("says why each key is skipped, naming it by index and kid", () => {
    const set = parseJwks(
      JSON.stringify({
        keys: [
          5,
          { ...rsa.jwk, use: "enc" },
          { kty: "oct", k: "AA" },
          { kty: "EC", kid: "bad", crv: "P-999", x: "AA", y: "AA" },
          { ...rsa.jwk, kid: 7 },
        ],
      }),
    );
    assert.equal(set.keys.length, 1);
    assert.equal(set.keys[0]?.kid, undefined);
    assert.deepEqual(set.problems.slice(0, 3), [
      "keys[0] is a number, not an object",
      'keys[1] (kid r1) has use "enc", not "sig"',
      'keys[2] (kid none) has kty "oct"; STS accepts RSA and EC keys',
    ]);
    assert.match(set.problems[3] ?? "", /^keys\[3\] \(kid bad\) is not a valid EC public key: ./);
    assert.equal(set.problems.length, 4);
  });

  it("a skipped key without a kid is named 'kid none'", () => {
    const noKid: Record<string, unknown> = { ...rsa.jwk };
    delete noKid["kid"];
    const set = parseJwks(
      JSON.stringify({
        keys: [
          { ...noKid, use: "enc" },
          { kty: "EC", crv: "P-999", x: "AA", y: "AA" },
        ],
      }),
    );
    assert.equal(set.keys.length, 0);
    assert.equal(set.problems[0], 'keys[0] (kid none) has use "enc", not "sig"');
    assert.match(set.problems[1] ?? "", /^keys\[1\] \(kid none\) is not a valid EC public key: ./);
  });

  it("an RSA key with a stray crv member does not fit ES256: the curve counts only for EC keys", () => {
    // parseJwks keeps crv as written, whatever the key type.
    const set = parseJwks(JSON.stringify({ keys: [{ ...rsa.jwk, alg: undefined, crv: "P-256" }] }));
    assert.deepEqual(set.problems, []);
    const [k] = set.keys;
    assert.ok(k);
    assert.deepEqual([k.kty, k.crv], ["RSA", "P-256"]);
    assert.equal(keyFits(k, "RS256"), true);
    assert.equal(keyFits(k, "ES256"), false);
  });

  it("a document that is not a JWKS gives no keys and says what it is", () => {
    assert.deepEqual(parseJwks("[1]"), {
      keys: [],
      problems: ['the JWKS is an array without a "keys" array'],
    });
    assert.deepEqual(parseJwks('{"keys":{}}'), {
      keys: [],
      problems: ['the JWKS is an object without a "keys" array'],
    });
    const notJson = parseJwks("{");
    assert.equal(notJson.keys.length, 0);
    assert.match(notJson.problems[0] ?? "", /^the JWKS is not JSON: ./);
  });
});

describe("keyFits and verifySignature", () => {
  const algs = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"] as const;
  const keys = new Map<string, SigningKey>();
  before(async () => {
    for (const alg of algs) keys.set(alg, await signingKey(alg, alg));
  });
  const verification = (alg: string, over: Partial<VerificationKey> = {}): VerificationKey => {
    const k = parseJwks(jwksOf(keys.get(alg) as SigningKey)).keys[0];
    assert.ok(k);
    return { ...k, ...over };
  };

  it("a token of every supported algorithm verifies with its key and passes every check", async () => {
    for (const alg of algs) {
      const key = keys.get(alg) as SigningKey;
      const v = await checkWebIdentity(
        { token: await signToken(key), roleArn: ROLE_ARN, roleSessionName: "s1" },
        stsConfig(),
        staticResolver(jwksOf(...keys.values())),
        { now: Date.now() / 1000 },
      );
      assert.equal(v.ok, true, `${alg}: ${v.failed?.reason ?? ""}`);
    }
  });

  it("a key fits an algorithm by its type, its curve and its own alg when it names one", () => {
    assert.equal(keyFits(verification("RS256"), "RS256"), true);
    assert.equal(keyFits(verification("RS256"), "RS384"), false, "the key's alg is RS256");
    assert.equal(keyFits(verification("RS256", { alg: undefined }), "RS512"), true);
    assert.equal(keyFits(verification("RS256", { alg: undefined }), "ES256"), false);
    assert.equal(keyFits(verification("ES256", { alg: undefined }), "RS256"), false);
    assert.equal(
      keyFits(verification("ES256", { alg: undefined }), "ES384"),
      false,
      "P-256 is not ES384's curve",
    );
    assert.equal(keyFits(verification("ES384", { alg: undefined }), "ES384"), true);
    assert.equal(keyFits(verification("ES512", { alg: undefined }), "ES512"), true);
  });

  it("a key that names its alg verifies no other algorithm, even one its type could", async () => {
    const key = keys.get("RS256") as SigningKey;
    const [h = "", p = "", s = ""] = (await signToken(key)).split(".");
    const sig = Buffer.from(s, "base64url");
    assert.equal(verifySignature("RS256", verification("RS256", { alg: undefined }), `${h}.${p}`, sig), true);
    assert.equal(verifySignature("RS256", verification("RS256", { alg: "RS384" }), `${h}.${p}`, sig), false);
  });

  it("an EC signature of the wrong size is false, never a throw", async () => {
    const key = keys.get("ES256") as SigningKey;
    const [h = "", p = "", s = ""] = (await signToken(key)).split(".");
    const sig = Buffer.from(s, "base64url");
    const k = verification("ES256");
    assert.equal(verifySignature("ES256", k, `${h}.${p}`, sig), true);
    assert.equal(verifySignature("ES256", k, `${h}.${p}`, sig.subarray(0, 63)), false);
    assert.equal(verifySignature("ES256", k, `${h}.${p}`, Buffer.concat([sig, Buffer.alloc(1)])), false);
    assert.equal(verifySignature("RS256", verification("RS256"), `${h}.${p}`, Buffer.alloc(3)), false);
  });

  it("a key that cannot verify at all is false, never a throw", async () => {
    // parseJwks keeps only RSA and EC keys; a resolver may hand over any KeyObject. node:crypto
    // throws for an X25519 key ("operation not supported for this keytype").
    const key = keys.get("ES256") as SigningKey;
    const [h = "", p = "", s = ""] = (await signToken(key)).split(".");
    const sig = Buffer.from(s, "base64url");
    const x25519 = generateKeyPairSync("x25519").publicKey;
    assert.throws(() => verify("sha256", Buffer.from(`${h}.${p}`), x25519, sig));
    for (const alg of ["ES256", "RS256"] as const) {
      const k = verification(alg, { key: x25519 });
      assert.equal(verifySignature(alg, k, `${h}.${p}`, alg === "ES256" ? sig : Buffer.alloc(256)), false);
    }
  });
});
