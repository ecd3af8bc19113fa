import { SignJWT } from "jose";
import assert from "node:assert/strict";
import { createHmac, createPublicKey } from "node:crypto";
import { before, describe, it } from "node:test";
import { checkWebIdentity, CHECK_NAMES, conditionContext, type CheckName } from "../../src/core/sts/check.js";
import { parseStsConfig, type StsConfig } from "../../src/core/sts/config.js";
import { parseToken, readClaims } from "../../src/core/sts/token.js";
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

/** A fixed clock for the limits below: every token's times are relative to it. */
const N = 1_800_000_000;

async function at(
  token: string,
  opts: { now?: number; clockSkewSeconds?: number; maxTokenAgeSeconds?: number; config?: StsConfig } = {},
) {
  return checkWebIdentity(
    { token, roleArn: ROLE_ARN, roleSessionName: "s1" },
    opts.config ?? stsConfig(),
    staticResolver(jwksOf(rsa, ec)),
    {
      now: opts.now ?? N,
      ...(opts.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: opts.clockSkewSeconds }),
      ...(opts.maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds: opts.maxTokenAgeSeconds }),
    },
  );
}

const timed = (t: Record<string, unknown>) =>
  signToken(rsa, { iat: N - 10, nbf: N - 10, exp: N + 600, ...t });

describe("checkWebIdentity: time limits, to the second", () => {
  it("exp: expired once exp plus the 60 s default skew is not after now", async () => {
    expectFail(await at(await timed({ exp: N - 60 })), "expiry", "ExpiredTokenException");
    assert.equal((await at(await timed({ exp: N - 59 }))).ok, true);
  });
  it("nbf: refused only when more than 60 s ahead of now", async () => {
    assert.equal((await at(await timed({ nbf: N + 60 }))).ok, true);
    const v = await at(await timed({ nbf: N + 61 }));
    expectFail(v, "not-before", "InvalidIdentityToken");
    assert.equal(
      v.failed?.error?.message,
      `Token not yet valid: current date/time ${N} must be after the not-before date/time ${N + 61}`,
    );
    assert.equal(v.failed.reason, `not valid before ${N + 61}, in 61 s`);
  });
  it("iat: refused only when more than 60 s ahead of now", async () => {
    assert.equal((await at(await timed({ iat: N + 60, nbf: undefined }))).ok, true);
    const v = await at(await timed({ iat: N + 61, nbf: undefined }));
    expectFail(v, "issued-at", "InvalidIdentityToken");
    assert.equal(
      v.failed?.error?.message,
      `Token issued in the future: current date/time ${N} must be after the issue date/time ${N + 61}`,
    );
    assert.equal(v.failed.reason, "issued 61 s in the future");
  });
  it("iat: too old beyond 24 h plus the skew (ExpiredTokenException 'Token too old')", async () => {
    assert.equal((await at(await timed({ iat: N - 86_460, nbf: undefined }))).ok, true);
    const v = await at(await timed({ iat: N - 86_461, nbf: undefined }));
    expectFail(v, "issued-at", "ExpiredTokenException");
    assert.equal(v.failed?.error?.message, "Token too old: 86461");
    assert.equal(v.failed.reason, "issued 86461 s ago, more than 86400 s");
  });
  it("clockSkewSeconds and maxTokenAgeSeconds replace the defaults", async () => {
    const strict = { clockSkewSeconds: 0 };
    expectFail(await at(await timed({ exp: N }), strict), "expiry", "ExpiredTokenException");
    assert.equal((await at(await timed({ exp: N + 1 }), strict)).ok, true);
    expectFail(await at(await timed({ nbf: N + 1 }), strict), "not-before", "InvalidIdentityToken");
    expectFail(
      await at(await timed({ iat: N + 1, nbf: undefined }), strict),
      "issued-at",
      "InvalidIdentityToken",
    );
    const young = { clockSkewSeconds: 0, maxTokenAgeSeconds: 100 };
    assert.equal((await at(await timed({ iat: N - 100, nbf: undefined }), young)).ok, true);
    const v = await at(await timed({ iat: N - 101, nbf: undefined }), young);
    expectFail(v, "issued-at", "ExpiredTokenException", /^Token too old: 101$/);
  });
  it("now is taken in whole seconds (a fraction never tips a limit or shows in a message)", async () => {
    assert.equal((await at(await timed({ iat: N - 86_460, nbf: undefined }), { now: N + 0.9 })).ok, true);
    const v = await at(await timed({ exp: N - 60 }), { now: N + 0.9 });
    expectFail(v, "expiry", "ExpiredTokenException");
    assert.equal(
      v.failed?.error?.message,
      `Token expired: current date/time ${N} must be before the expiration date/time${N - 60}`,
    );
    assert.equal(v.failed.reason, `expired at ${N - 60}, 60 s ago`);
  });
});

describe("checkWebIdentity: the reason each check gives", () => {
  it("a good token: every check passes, in order, each saying what it saw", async () => {
    const v = await at(await timed({}));
    assert.equal(v.ok, true);
    assert.deepEqual(
      v.checks.map((c) => [c.name, c.status, c.reason]),
      [
        ["token-format", "pass", "three base64url parts with a JSON header and payload"],
        ["algorithm", "pass", "alg RS256"],
        ["claims", "pass", "iss, sub, exp present with the right types"],
        ["issuer", "pass", `iss matches provider ${ISSUER}`],
        ["audience", "pass", `"${AUD}" is a client ID of the provider`],
        ["keys", "pass", "kid the-kid found"],
        ["signature", "pass", "RS256 signature verifies"],
        ["expiry", "pass", "expires in 600 s"],
        ["not-before", "pass", `valid since ${N - 10}`],
        ["issued-at", "pass", "issued 10 s ago"],
        ["role", "pass", `role ${ROLE_ARN}`],
        ["trust-policy", "pass", v.decision?.reason],
        ["duration", "pass", "3600 s (the role allows up to 7200 s)"],
      ],
    );
    assert.equal(v.failed, undefined);
    assert.equal(v.grant?.role.arn.text, ROLE_ARN);
    assert.equal(v.grant.provider.issuer, ISSUER);
    assert.equal(v.grant.claims.sub, SUB);
    assert.equal(v.grant.decision, v.decision);
  });

  it("without kid, nbf and iat: every key is tried, and the reasons say what was absent", async () => {
    const t = await signToken(ec, { iat: undefined, nbf: undefined, exp: N + 600 }, { kid: undefined });
    const v = await at(t);
    assert.equal(v.ok, true, v.failed?.reason);
    const reason = (n: CheckName) => v.checks.find((c) => c.name === n)?.reason;
    assert.equal(reason("keys"), "no kid: trying all 2 keys");
    assert.equal(reason("not-before"), "no nbf");
    assert.equal(reason("issued-at"), "no iat");
  });

  it("without kid, a forged signature is called a bad signature when any key is of the token's type", async () => {
    // The JWKS holds an RSA and an EC key; the token is signed with another RSA key.
    const v = await at(await signToken(other, {}, { kid: undefined }));
    assert.equal(v.failed?.reason, "the RS256 signature does not verify with the key");
  });

  it("the checks after a failure are listed in order as skipped, naming the failed check", async () => {
    const v = await at(await timed({ exp: N - 100 }));
    assert.deepEqual(
      v.checks.map((c) => c.name),
      [...CHECK_NAMES],
    );
    const after = v.checks.slice(CHECK_NAMES.indexOf("expiry") + 1);
    assert.ok(after.length > 0);
    for (const c of after) assert.deepEqual([c.status, c.reason], ["skip", "not reached: expiry failed"]);
    assert.equal(v.grant, undefined);
    assert.equal(v.decision, undefined);
  });

  it("an alg that is not a string, or none at all, is shown as JSON", async () => {
    for (const [alg, shown] of [
      [5, "5"],
      [undefined, "null"],
      ["HS256", "HS256"],
    ] as const) {
      const v = await at(rawToken({ alg, kid: rsa.kid }, { iss: ISSUER, sub: SUB, aud: AUD, exp: N + 600 }));
      expectFail(v, "algorithm", "InvalidIdentityToken");
      assert.equal(
        v.failed?.error?.message,
        `Unsupported token signing algorithm: ${shown} (tokens must be signed with RS256, RS384, RS512, ES256, ES384 or ES512)`,
      );
      assert.equal(
        v.failed.reason,
        `alg ${shown} is not one STS accepts (RS256, RS384, RS512, ES256, ES384, ES512)`,
      );
    }
  });

  it("a kid that is not a string is refused at the algorithm check", async () => {
    const v = await at(await signToken(rsa, { exp: N + 600 }, { kid: 7 }));
    expectFail(v, "algorithm", "InvalidIdentityToken", /^Invalid claim: kid must be a string$/);
    assert.equal(v.failed?.reason, "the header's kid is not a string");
  });

  it("a claim problem names the claim: missing, or not of the type STS wants", async () => {
    const missing = await at(await timed({ sub: undefined }));
    assert.equal(missing.failed?.reason, "sub is missing");
    const wrong = await at(await timed({ exp: N + 600.5 }));
    assert.equal(wrong.failed?.reason, "exp is not an integer");
    assert.equal(wrong.failed.error?.message, "Invalid claim: exp must be an integer");
  });

  it("an unknown issuer: the reason says no provider has it", async () => {
    const v = await at(await timed({ iss: "https://evil.example.com" }));
    assert.equal(v.failed?.reason, 'iss "https://evil.example.com": no provider has this URL');
    const slash = await at(await timed({ iss: `${ISSUER}//` }));
    assert.equal(
      slash.failed?.reason,
      `iss "${ISSUER}//": provider ${ISSUER} differs only in a trailing slash, and STS compares the issuer as a string`,
    );
  });

  it("a provider URL with trailing slashes is named for a token whose iss has none", async () => {
    const config = parseStsConfig({
      providers: [{ url: `${ISSUER}//`, clientIds: [AUD] }],
      roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY }],
    });
    const v = await at(await timed({}), { config });
    assert.equal(
      v.failed?.reason,
      `iss "${ISSUER}": provider ${ISSUER}// differs only in a trailing slash, and STS compares the issuer as a string`,
    );
  });

  it("the audience: any aud entry or the azp may be the client ID; the reason lists what was seen", async () => {
    const second = await at(await timed({ aud: ["x", AUD] }));
    assert.equal(second.grant?.audience, AUD);
    const azpOnly = await at(await timed({ aud: undefined, azp: AUD }));
    assert.equal(azpOnly.grant?.audience, AUD);
    const audWins = await at(await timed({ aud: [AUD], azp: "other" }));
    assert.equal(audWins.grant?.audience, AUD);
    const none = await at(await timed({ aud: ["x"] }));
    expectFail(none, "audience", "InvalidIdentityToken", /^Incorrect token audience$/);
    assert.equal(none.failed?.reason, `aud ["x"] not among the provider's client IDs ["${AUD}"]`);
    const withAzp = await at(await timed({ aud: ["x"], azp: "y" }));
    assert.equal(
      withAzp.failed?.reason,
      `aud ["x"] and azp "y" not among the provider's client IDs ["${AUD}"]`,
    );
    const empty = await at(await timed({ aud: [] }));
    expectFail(empty, "audience", "InvalidIdentityToken", /^Missing a required claim: aud$/);
    assert.equal(empty.failed?.reason, "the token has no aud claim");
    const emptyAzp = await at(await timed({ aud: [], azp: "y" }));
    expectFail(emptyAzp, "audience", "InvalidIdentityToken", /^Missing a required claim: aud$/);
  });

  it("the audience: when an aud entry and the azp are both client IDs, the aud entry is the one that matched", async () => {
    const config = parseStsConfig({
      providers: [{ url: ISSUER, clientIds: ["client-2", AUD] }],
      roles: [{ arn: ROLE_ARN, trustPolicy: TRUST_POLICY, maxSessionDuration: 7200 }],
    });
    const v = await at(await timed({ aud: ["x", AUD], azp: "client-2" }), { config });
    assert.equal(v.ok, true, v.failed?.reason);
    assert.equal(v.grant?.audience, AUD);
  });

  it("keys: the reason names the kid not found and how many keys there are, or the resolver's reason", async () => {
    const v = await at(await signToken(rsa, { exp: N + 600 }, { kid: "nope" }));
    assert.equal(v.failed?.reason, `no key with kid "nope" in the provider's JWKS (2 keys)`);
    const down = await checkWebIdentity(
      { token: await timed({}), roleArn: ROLE_ARN, roleSessionName: "s" },
      stsConfig(),
      { keysFor: () => Promise.resolve({ ok: false, reason: "JWKS answered 500" }) },
      { now: N },
    );
    expectFail(down, "keys", "InvalidIdentityToken", /^Couldn't retrieve verification key/);
    assert.equal(down.failed?.reason, "JWKS answered 500");
  });

  it("signature: the reason tells a wrong key type from a signature that does not verify", async () => {
    const forged = await at(await signToken(other, { exp: N + 600 }));
    expectFail(forged, "signature", "InvalidIdentityToken", /^Token signature verification failed$/);
    assert.equal(forged.failed?.reason, "the RS256 signature does not verify with the key");
    const rsOverEc = await at(await signToken(rsa, { exp: N + 600 }, { kid: ec.kid }));
    assert.equal(rsOverEc.failed?.reason, "the key is not a key for RS256");
    const esOverRsa = await at(await signToken(ec, { exp: N + 600 }, { kid: rsa.kid }));
    assert.equal(esOverRsa.failed?.reason, "the key is not a key for ES256");
    const esBadSig = await at(
      await signToken(ec, { exp: N + 600 }, { kid: ec.kid, alg: "ES256" }).then(
        (t) => `${t.slice(0, -4)}AAAA`,
      ),
    );
    assert.equal(esBadSig.failed?.reason, "the ES256 signature does not verify with the key");
  });

  it("role and duration failures say which role and which limit; trust policy and duration keep the decision", async () => {
    const noRole = await checkWebIdentity(
      { token: await timed({}), roleArn: "arn:aws:iam::111122223333:role/other", roleSessionName: "s" },
      stsConfig(),
      staticResolver(jwksOf(rsa)),
      { now: N },
    );
    assert.equal(noRole.failed?.reason, "no role arn:aws:iam::111122223333:role/other in the config");
    assert.equal(noRole.failed.error?.message, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    const long = await checkWebIdentity(
      { token: await timed({}), roleArn: ROLE_ARN, roleSessionName: "s", durationSeconds: 7201 },
      stsConfig(),
      staticResolver(jwksOf(rsa)),
      { now: N },
    );
    expectFail(long, "duration", "ValidationError");
    assert.equal(long.failed?.reason, "DurationSeconds 7201 exceeds the role's maximum 7200");
    assert.equal(long.decision?.allowed, true);
    const denied = await at(await timed({ sub: "system:serviceaccount:x:y" }));
    assert.equal(denied.decision?.allowed, false);
    assert.equal(denied.failed?.reason, denied.decision.reason);
  });
});

describe("conditionContext", () => {
  const [p] = stsConfig().providers;
  const claims = { iss: ISSUER, sub: SUB, aud: [AUD], exp: N, nbf: undefined, iat: undefined };
  it("has sub, the matched aud and sts:RoleSessionName; azp and amr only when the token has them", () => {
    assert.ok(p);
    assert.deepEqual(
      [...conditionContext(p, { ...claims, azp: undefined, amr: undefined }, AUD, "s1")],
      [
        [`${HOST_PATH}:sub`, [SUB]],
        [`${HOST_PATH}:aud`, [AUD]],
        ["sts:RoleSessionName", ["s1"]],
      ],
    );
    const all = conditionContext(p, { ...claims, azp: "c1", amr: ["pwd", "mfa"] }, AUD, "s1");
    assert.deepEqual(all.get(`${HOST_PATH}:azp`), ["c1"]);
    assert.deepEqual(all.get(`${HOST_PATH}:amr`), ["pwd", "mfa"]);
  });
});

describe("parseToken and readClaims", () => {
  const b = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  const reason = (t: string): string | undefined => {
    const r = parseToken(t);
    return r.ok ? undefined : r.reason;
  };
  it("names the part that is wrong, and how", () => {
    assert.equal(reason("a.b"), "a JWT has three dot-separated parts, this has 2");
    assert.equal(reason("a.b.c.d"), "a JWT has three dot-separated parts, this has 4");
    assert.equal(reason(`${b({})}=.${b({})}.`), "the header is not base64url");
    assert.equal(reason(`${b({})}.+${b({})}.`), "the payload is not base64url");
    assert.equal(reason(`${b({})}.${b({})}.a/b`), "the signature is not base64url");
    assert.equal(reason(`${b({})}.${b({})}.ab=`), "the signature is not base64url");
    assert.equal(reason(`${Buffer.from("{").toString("base64url")}.${b({})}.`), "the header is not JSON");
    assert.equal(reason(`${b({})}.${Buffer.from("nul").toString("base64url")}.`), "the payload is not JSON");
    assert.equal(reason(`${b(5)}.${b({})}.`), "the header is a number, not a JSON object");
    assert.equal(reason(`${b({})}.${b([1])}.`), "the payload is an array, not a JSON object");
    assert.equal(reason(".."), "the header is not JSON");
  });
  it("keeps the signed input as sent and decodes the signature", () => {
    const r = parseToken(`${b({ alg: "RS256" })}.${b({ a: 1 })}.AQID`);
    assert.ok(r.ok);
    assert.equal(r.token.signingInput, `${b({ alg: "RS256" })}.${b({ a: 1 })}`);
    assert.deepEqual([...r.token.signature], [1, 2, 3]);
    assert.deepEqual(r.token.header, { alg: "RS256" });
    assert.deepEqual(r.token.claims, { a: 1 });
  });
  const base = { iss: ISSUER, sub: SUB, exp: N };
  const cases: [string, Record<string, unknown>, [string, string, boolean]][] = [
    ["iss missing", { iss: undefined }, ["iss", "a string", true]],
    ["iss a number", { iss: 1 }, ["iss", "a string", false]],
    ["aud an object", { aud: {} }, ["aud", "a string or an array of strings", false]],
    ["azp a number", { azp: 1 }, ["azp", "a string", false]],
    ["sub missing", { sub: undefined }, ["sub", "a string", true]],
    ["sub null", { sub: null }, ["sub", "a string", false]],
    ["exp missing", { exp: undefined }, ["exp", "an integer", true]],
    ["exp beyond 2^53", { exp: 2 ** 53 }, ["exp", "an integer", false]],
    ["nbf a string", { nbf: "1" }, ["nbf", "an integer", false]],
    ["iat a float", { iat: 1.5 }, ["iat", "an integer", false]],
    ["amr a number", { amr: 1 }, ["amr", "a string or an array of strings", false]],
    ["amr a list with a number", { amr: ["a", 1] }, ["amr", "a string or an array of strings", false]],
  ];
  for (const [title, over, [claim, want, missing]] of cases) {
    it(`readClaims refuses ${title}, naming the claim and whether it is missing`, () => {
      assert.deepEqual(readClaims({ ...base, ...over }), { ok: false, claim, want, missing });
    });
  }
  it("readClaims takes a single aud or amr string as a list of one, and keeps the others", () => {
    assert.deepEqual(readClaims({ ...base, aud: AUD, amr: "mfa", azp: "c", nbf: N - 1, iat: N - 2 }), {
      ok: true,
      claims: { iss: ISSUER, sub: SUB, aud: [AUD], azp: "c", amr: ["mfa"], exp: N, nbf: N - 1, iat: N - 2 },
    });
    assert.deepEqual(readClaims({ ...base, aud: [AUD, "b"], amr: ["pwd", "mfa"] }), {
      ok: true,
      claims: {
        iss: ISSUER,
        sub: SUB,
        aud: [AUD, "b"],
        azp: undefined,
        amr: ["pwd", "mfa"],
        exp: N,
        nbf: undefined,
        iat: undefined,
      },
    });
  });
});
