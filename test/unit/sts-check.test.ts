import { SignJWT } from "jose";
import assert from "node:assert/strict";
import { createHmac, createPublicKey } from "node:crypto";
import { before, describe, it } from "node:test";
import { checkWebIdentity, CHECK_NAMES, type CheckName } from "../../src/core/sts/check.js";
import { parseStsConfig } from "../../src/core/sts/config.js";
import { IrsaError } from "../../src/core/errors.js";
import { parseJwks } from "../../src/core/sts/keys.js";
import {
  AUD,
  HOST_PATH,
  ISSUER,
  PROVIDER_ARN,
  ROLE_ARN,
  SUB,
  TRUST_POLICY,
  jwksOf,
  nowSeconds,
  rawToken,
  signToken,
  signingKey,
  staticResolver,
  stsConfig,
  type SigningKey,
} from "../support/sts.js";

let rsa: SigningKey;
let other: SigningKey;
let ec: SigningKey;

before(async () => {
  rsa = await signingKey("RS256", "the-kid");
  other = await signingKey("RS256", "the-kid");
  ec = await signingKey("ES256", "ec-kid");
});

async function verdict(
  token: string,
  opts: { roleArn?: string; duration?: number; session?: string; policy?: unknown } = {},
) {
  return checkWebIdentity(
    {
      token,
      roleArn: opts.roleArn ?? ROLE_ARN,
      roleSessionName: opts.session ?? "s1",
      durationSeconds: opts.duration,
    },
    stsConfig(opts.policy ?? TRUST_POLICY),
    staticResolver(jwksOf(rsa, ec)),
    { now: nowSeconds() },
  );
}

function expectFail(
  v: Awaited<ReturnType<typeof verdict>>,
  check: CheckName,
  code: string,
  message?: RegExp,
): void {
  assert.equal(v.ok, false, "refused");
  assert.equal(v.failed?.name, check, `failed at ${v.failed?.name ?? "-"}: ${v.failed?.reason ?? ""}`);
  assert.equal(v.failed.error?.code, code);
  if (message) assert.match(v.failed.error.message, message);
  // Every check is listed once, in order; those after the failure are skipped.
  assert.deepEqual(v.checks.map((c) => c.name).sort(), [...CHECK_NAMES].sort());
  const at = v.checks.findIndex((c) => c.status === "fail");
  assert.ok(v.checks.slice(at + 1).every((c) => c.status === "skip"));
}

describe("checkWebIdentity: a good token", () => {
  it("passes every check, RS256 and ES256, and names the deciding statement", async () => {
    for (const key of [rsa, ec]) {
      const v = await verdict(await signToken(key));
      assert.equal(v.ok, true, v.failed?.reason);
      assert.ok(v.checks.every((c) => c.status === "pass"));
      assert.equal(v.grant?.providerArn, PROVIDER_ARN);
      assert.equal(v.grant.audience, AUD);
      assert.equal(v.grant.durationSeconds, 3600);
      assert.equal(v.decision?.deciding?.name, 'Statement[0] (Sid "AllowApp")');
    }
  });

  it("takes aud as a plain string too (newer go-jose marshals one audience so)", async () => {
    assert.equal((await verdict(await signToken(rsa, { aud: AUD }))).ok, true);
  });

  it("accepts a matching azp when aud does not match", async () => {
    assert.equal((await verdict(await signToken(rsa, { aud: ["x"], azp: AUD }))).ok, true);
  });
});

describe("checkWebIdentity: forged and broken tokens, each with AWS's error code", () => {
  const notJwt = /not a valid JWT/;
  it("garbage", async () => {
    expectFail(await verdict("garbage-not-a-token"), "token-format", "InvalidIdentityToken", notJwt);
  });
  it("two segments", async () => {
    expectFail(
      await verdict("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"),
      "token-format",
      "InvalidIdentityToken",
      notJwt,
    );
  });
  it("truncated", async () => {
    const t = await signToken(rsa);
    expectFail(await verdict(t.slice(0, t.indexOf(".") + 10)), "token-format", "InvalidIdentityToken");
  });
  it("a truncated signature", async () => {
    const t = await signToken(rsa);
    expectFail(await verdict(t.slice(0, -20)), "signature", "InvalidIdentityToken");
  });
  it("a header that is not JSON", async () => {
    expectFail(
      await verdict(`${Buffer.from("{x").toString("base64url")}.e30.`),
      "token-format",
      "InvalidIdentityToken",
    );
  });
  it("a payload that is an array", async () => {
    expectFail(await verdict(rawToken({ alg: "RS256" }, [1])), "token-format", "InvalidIdentityToken");
  });

  it("alg none", async () => {
    const t = rawToken(
      { alg: "none", kid: rsa.kid },
      { iss: ISSUER, sub: SUB, aud: AUD, exp: nowSeconds() + 600 },
    );
    expectFail(
      await verdict(t),
      "algorithm",
      "InvalidIdentityToken",
      /Unsupported token signing algorithm: none/,
    );
  });

  it("HS256 keyed with the issuer's public key (algorithm confusion)", async () => {
    const h = { alg: "HS256", kid: rsa.kid };
    const p = { iss: ISSUER, sub: SUB, aud: [AUD], exp: nowSeconds() + 600 };
    const input = `${Buffer.from(JSON.stringify(h)).toString("base64url")}.${Buffer.from(JSON.stringify(p)).toString("base64url")}`;
    const pem = createPublicKey({ key: rsa.jwk, format: "jwk" }).export({
      type: "spki",
      format: "pem",
    });
    const sig = createHmac("sha256", pem).update(input).digest("base64url");
    expectFail(await verdict(`${input}.${sig}`), "algorithm", "InvalidIdentityToken", /HS256/);
  });

  it("signed by another key with the issuer's kid", async () => {
    expectFail(await verdict(await signToken(other)), "signature", "InvalidIdentityToken");
  });

  it("an RS256 header over an EC key's kid", async () => {
    expectFail(await verdict(await signToken(rsa, {}, { kid: ec.kid })), "signature", "InvalidIdentityToken");
  });

  it("an unknown kid", async () => {
    expectFail(
      await verdict(await signToken(rsa, {}, { kid: "nope" })),
      "keys",
      "InvalidIdentityToken",
      /Couldn't retrieve verification key from your identity provider, {2}please/,
    );
  });

  it("expired", async () => {
    const now = nowSeconds();
    const v = await verdict(await signToken(rsa, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }));
    expectFail(
      v,
      "expiry",
      "ExpiredTokenException",
      new RegExp(
        `^Token expired: current date/time \\d+ must be before the expiration date/time${now - 3600}$`,
      ),
    );
  });

  it("expired by less than the clock skew is still accepted", async () => {
    const now = nowSeconds();
    assert.equal(
      (await verdict(await signToken(rsa, { iat: now - 3000, nbf: now - 3000, exp: now - 30 }))).ok,
      true,
    );
  });

  it("not yet valid", async () => {
    const now = nowSeconds();
    expectFail(
      await verdict(await signToken(rsa, { nbf: now + 600, iat: now })),
      "not-before",
      "InvalidIdentityToken",
    );
  });

  it("issued in the future", async () => {
    const now = nowSeconds();
    expectFail(
      await verdict(await signToken(rsa, { iat: now + 600, nbf: undefined })),
      "issued-at",
      "InvalidIdentityToken",
    );
  });

  it("too old (iat more than 24 h ago)", async () => {
    const now = nowSeconds();
    expectFail(
      await verdict(await signToken(rsa, { iat: now - 90_000, nbf: now - 90_000, exp: now + 600 })),
      "issued-at",
      "ExpiredTokenException",
      /^Token too old: \d+$/,
    );
  });

  it("a wrong issuer", async () => {
    expectFail(
      await verdict(await signToken(rsa, { iss: "https://evil.example.com" })),
      "issuer",
      "InvalidIdentityToken",
      /^No OpenIDConnect provider found in your account for https:\/\/evil\.example\.com$/,
    );
  });

  it("the issuer with a trailing slash (a different issuer for AWS)", async () => {
    const v = await verdict(await signToken(rsa, { iss: `${ISSUER}/` }));
    expectFail(v, "issuer", "InvalidIdentityToken", new RegExp(`for ${ISSUER}/$`));
    assert.match(v.failed?.reason ?? "", /differs only in a trailing slash/);
  });

  it("a wrong audience", async () => {
    expectFail(
      await verdict(await signToken(rsa, { aud: ["https://kubernetes.default.svc"] })),
      "audience",
      "InvalidIdentityToken",
      /^Incorrect token audience$/,
    );
  });

  it("no audience", async () => {
    expectFail(
      await verdict(await signToken(rsa, { aud: undefined })),
      "audience",
      "InvalidIdentityToken",
      /^Missing a required claim: aud$/,
    );
  });

  it("a sub outside the trust policy", async () => {
    const v = await verdict(await signToken(rsa, { sub: "system:serviceaccount:team-b:app" }));
    expectFail(
      v,
      "trust-policy",
      "AccessDenied",
      /^Not authorized to perform sts:AssumeRoleWithWebIdentity$/,
    );
    assert.equal(v.decision?.decision, "ImplicitDeny");
  });

  it("a sub that only starts with the allowed one", async () => {
    expectFail(await verdict(await signToken(rsa, { sub: `${SUB}-evil` })), "trust-policy", "AccessDenied");
  });

  it("a Deny statement", async () => {
    const policy = {
      ...TRUST_POLICY,
      Statement: [
        ...TRUST_POLICY.Statement,
        { Sid: "DenyAll", Effect: "Deny", Principal: "*", Action: "sts:*" },
      ],
    };
    const v = await verdict(await signToken(rsa), { policy });
    expectFail(v, "trust-policy", "AccessDenied");
    assert.equal(v.decision?.decision, "ExplicitDeny");
    assert.equal(v.decision.deciding?.name, 'Statement[1] (Sid "DenyAll")');
  });

  it("a role that is not configured is AccessDenied, as real STS cannot say a role does not exist", async () => {
    expectFail(
      await verdict(await signToken(rsa), { roleArn: "arn:aws:iam::111122223333:role/other" }),
      "role",
      "AccessDenied",
    );
  });

  it("DurationSeconds over the role's maximum", async () => {
    expectFail(
      await verdict(await signToken(rsa), { duration: 7201 }),
      "duration",
      "ValidationError",
      /exceeds the MaxSessionDuration/,
    );
    assert.equal((await verdict(await signToken(rsa), { duration: 7200 })).ok, true);
  });

  const wrongTypes: [string, Record<string, unknown>][] = [
    ["exp as a string", { exp: String(nowSeconds() + 600) }],
    ["exp as a float", { exp: nowSeconds() + 600.5 }],
    ["iat as a string", { iat: "now" }],
    ["nbf as an object", { nbf: {} }],
    ["sub as a number", { sub: 42 }],
    ["iss as an array", { iss: [ISSUER] }],
    ["aud as a number", { aud: 1 }],
    ["aud as a list with a number", { aud: [AUD, 1] }],
    ["amr as an object", { amr: { a: 1 } }],
  ];
  for (const [title, claims] of wrongTypes) {
    it(`a claim of the wrong JSON type: ${title}`, async () => {
      const t = await new SignJWT({ iss: ISSUER, sub: SUB, aud: [AUD], exp: nowSeconds() + 600, ...claims })
        .setProtectedHeader({ alg: "RS256", kid: rsa.kid })
        .sign(rsa.privateKey);
      expectFail(await verdict(t), "claims", "InvalidIdentityToken", /^Invalid claim: /);
    });
  }
  it("a missing sub", async () => {
    expectFail(
      await verdict(await signToken(rsa, { sub: undefined })),
      "claims",
      "InvalidIdentityToken",
      /^Missing a required claim: sub$/,
    );
  });
  it("a missing exp", async () => {
    expectFail(
      await verdict(await signToken(rsa, { exp: undefined })),
      "claims",
      "InvalidIdentityToken",
      /^Missing a required claim: exp$/,
    );
  });

  it("a resolver that cannot fetch the keys is AWS's 'Couldn't retrieve verification key'", async () => {
    const v = await checkWebIdentity(
      { token: await signToken(rsa), roleArn: ROLE_ARN, roleSessionName: "s" },
      stsConfig(),
      { keysFor: () => Promise.reject(new Error("ECONNREFUSED")) },
      { now: nowSeconds() },
    );
    expectFail(v, "keys", "InvalidIdentityToken", /Couldn't retrieve verification key/);
    assert.equal(v.failed?.reason, "ECONNREFUSED");
  });
});

describe("condition keys of a web identity request", () => {
  it("amr is multi-valued (ForAnyValue), azp and sts:RoleSessionName are there", async () => {
    const policy = {
      Version: "2012-10-17",
      Statement: {
        Effect: "Allow",
        Principal: { Federated: PROVIDER_ARN },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          "ForAnyValue:StringEquals": { [`${HOST_PATH}:amr`]: "mfa" },
          StringEquals: { [`${HOST_PATH}:azp`]: "client-1" },
          StringLike: { "sts:RoleSessionName": "ci-*" },
        },
      },
    };
    const t = await signToken(rsa, { amr: ["pwd", "mfa"], azp: "client-1" });
    assert.equal((await verdict(t, { policy, session: "ci-1" })).ok, true);
    expectFail(await verdict(t, { policy, session: "dev-1" }), "trust-policy", "AccessDenied");
  });
});

describe("parseStsConfig", () => {
  const good = {
    providers: [{ url: "oidc.example.com/c1", clientIds: [AUD] }],
    roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY }],
  };
  it("takes the provider URL with or without https://, keeping it exactly (a trailing slash stays)", () => {
    const c = parseStsConfig({ ...good, providers: [{ url: "oidc.example.com/c1/", clientIds: [AUD] }] });
    assert.equal(c.providers[0]?.issuer, "https://oidc.example.com/c1/");
    assert.equal(c.providers[0].hostPath, "oidc.example.com/c1/");
    assert.equal(c.roles[0]?.maxSessionDuration, 3600);
  });
  const bad: [string, unknown, RegExp][] = [
    [
      "a non-https URL",
      { ...good, providers: [{ url: "http://x", clientIds: [AUD] }] },
      /providers\[0\]\.url: must be https/,
    ],
    [
      "no client IDs",
      { ...good, providers: [{ url: "x.example.com" }] },
      /providers\[0\]\.clientIds: needs at least one/,
    ],
    [
      "a bad role ARN",
      { ...good, roles: [{ arn: "arn:aws:iam::1:role/x", trustPolicy: TRUST_POLICY }] },
      /roles\[0\]\.arn: .* is not a role ARN/,
    ],
    [
      "maxSessionDuration out of range",
      { ...good, roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, maxSessionDuration: 60 }] },
      /roles\[0\]\.maxSessionDuration: must be an integer from 3600 to 43200/,
    ],
    [
      "a bad trust policy",
      { ...good, roles: [{ arn: ROLE_ARN, trustPolicy: { Statement: [{ Effect: "Maybe" }] } }] },
      /roles\[0\]\.trustPolicy: Statement\[0\]\.Effect/,
    ],
    [
      "both trustPolicy and trustPolicyFile",
      { ...good, roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, trustPolicyFile: "x" }] },
      /exactly one of trustPolicy and trustPolicyFile/,
    ],
    ["an unknown top-level field", { ...good, role: [] }, /role: unknown field/],
    ["a list at the top", [], /expected an object/],
  ];
  for (const [title, v, re] of bad) {
    it(`refuses ${title}, naming the field`, () => {
      assert.throws(
        () => parseStsConfig(v),
        (e: unknown) => e instanceof IrsaError && e.code === "STS_CONFIG_INVALID" && re.test(e.message),
      );
    });
  }
});

describe("parseJwks", () => {
  it("keeps RSA and EC signing keys, reports the others", () => {
    const set = parseJwks(
      JSON.stringify({
        keys: [
          rsa.jwk,
          { kty: "oct", k: "AA" },
          { ...ec.jwk, use: "enc" },
          { kty: "EC", crv: "P-999", x: "AA", y: "AA" },
          5,
        ],
      }),
    );
    assert.equal(set.keys.length, 1);
    assert.equal(set.problems.length, 4);
  });
  it("never throws on a document that is not a JWKS", () => {
    assert.equal(parseJwks("[").keys.length, 0);
    assert.equal(parseJwks("{}").keys.length, 0);
  });
});
