/**
 * Token validation speed with cached keys, beside the bare `crypto.verify` of the same token with
 * the same key in the same run (the floor: a validation is one verify plus parsing and checks).
 * Goal: validations at least 50% of bare verify, and at least 10,000 RS256 validations/s per core.
 * Run: node dist/bench/sts.js
 */
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { checkWebIdentity, type KeyResolver } from "../src/core/sts/check.js";
import { parseStsConfig } from "../src/core/sts/config.js";
import { parseJwks } from "../src/core/sts/keys.js";
import { answerQuery, IssuedStore } from "../src/core/sts/query.js";
import { fmt, percentile, table } from "./lib.js";

const ISSUER = "https://oidc.example.com/cluster-1";
const HOST = "oidc.example.com/cluster-1";
const ROLE = "arn:aws:iam::111122223333:role/app";
const SUB = "system:serviceaccount:prod:app";

const config = parseStsConfig({
  providers: [{ url: ISSUER, clientIds: ["sts.amazonaws.com"] }],
  roles: [
    {
      arn: ROLE,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${HOST}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${HOST}:sub`]: SUB, [`${HOST}:aud`]: "sts.amazonaws.com" } },
          },
        ],
      },
    },
  ],
});

/**
 * Timed loops for several functions, their batches interleaved (a, b, c, a, b, c, ...) so that a
 * busy machine slows them alike; the median ns/op of each over about `ms`, after a warm-up.
 */
async function measureTogether(fns: readonly (() => unknown)[], ms = 3000): Promise<number[]> {
  const batch = 50;
  for (const fn of fns) for (let i = 0; i < batch * 5; i++) await fn();
  const samples: number[][] = fns.map(() => []);
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (const [j, fn] of fns.entries()) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) await fn();
      samples[j]?.push(Number(process.hrtime.bigint() - t0) / batch);
    }
  }
  return samples.map((s) => percentile(s, 50));
}

const rows: string[][] = [];
for (const alg of ["RS256", "ES256"] as const) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", use: "sig", alg };
  const keys = parseJwks(JSON.stringify({ keys: [jwk] }));
  const resolver: KeyResolver = { keysFor: () => Promise.resolve({ ok: true, keys: keys.keys }) };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    iss: ISSUER,
    sub: SUB,
    aud: ["sts.amazonaws.com"],
    iat: now,
    nbf: now,
    exp: now + 86400,
  })
    .setProtectedHeader({ alg, kid: "k1" })
    .sign(privateKey);
  const [h = "", p = "", s = ""] = token.split(".");
  const input = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, "base64url");
  const keyObject = createPublicKey({ key: jwk, format: "jwk" });
  const bareOpts = alg === "ES256" ? { key: keyObject, dsaEncoding: "ieee-p1363" as const } : keyObject;
  if (!verify("sha256", input, bareOpts, sig)) throw new Error("bare verify failed");
  const req = { token, roleArn: ROLE, roleSessionName: "bench" };
  const check = await checkWebIdentity(req, config, resolver, { now: Date.now() / 1000 });
  if (!check.ok) throw new Error(`validation failed: ${check.failed?.reason ?? ""}`);
  const svc = {
    config: () => config,
    resolver,
    issued: new IssuedStore(10_000),
    now: Date.now,
    random: (n: number) => randomBytes(n),
  };
  const body = Buffer.from(
    new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: ROLE,
      RoleSessionName: "bench",
      WebIdentityToken: token,
    }).toString(),
  );
  const q = {
    method: "POST",
    path: "/",
    query: "",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  };
  if ((await answerQuery(q, svc)).status !== 200) throw new Error("answer failed");
  const [bare = NaN, validation = NaN, answer = NaN] = await measureTogether([
    () => verify("sha256", input, bareOpts, sig),
    () => checkWebIdentity(req, config, resolver, { now: Date.now() / 1000 }),
    () => answerQuery(q, svc),
  ]);
  rows.push([
    alg,
    "bare crypto.verify (same key, same token)",
    fmt(bare / 1000, 2),
    fmt(1e9 / bare, 0),
    "100%",
  ]);
  rows.push([
    alg,
    "checkWebIdentity (every check, trust policy)",
    fmt(validation / 1000, 2),
    fmt(1e9 / validation, 0),
    `${fmt((bare / validation) * 100, 0)}%`,
  ]);
  rows.push([
    alg,
    "answerQuery (form → checks → credentials → XML)",
    fmt(answer / 1000, 2),
    fmt(1e9 / answer, 0),
    `${fmt((bare / answer) * 100, 0)}%`,
  ]);
}
console.log(`Node ${process.version}, one core; keys cached (imported once)\n`);
console.log(table(["alg", "what", "µs/op", "ops/s", "of bare verify"], rows));
