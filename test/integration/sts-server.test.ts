/**
 * The local STS over real HTTP and HTTPS on loopback: the AWS SDK v3 default credential chain (a
 * child process with AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ENDPOINT_URL_STS) exchanges a
 * token and signs GetCallerIdentity with what it got; keys fetched from a real HTTPS issuer of ours
 * (discovery, JWKS) with a test CA, refetched on an unknown kid at most once per interval; the config
 * reloaded, a bad one refused; irsa sts check and irsa credentials as a user runs them.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startSts, type RunningSts } from "../../src/sts/main.js";
import type { Log } from "../../src/runtime/log.js";
import { createCa, issueServingCert, type Ca, type Cert } from "../e2e/harness/pki.js";
import { CLI, REPO_ROOT } from "../support/paths.js";
import { AUD, jwksOf, signToken, signingKey, SUB, type SigningKey } from "../support/sts.js";
import { xmlProblem, xmlValue } from "../support/xml.js";

const run = promisify(execFile);
const ACCOUNT = "111122223333";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;

let dir: string;
let ca: Ca;
let issuerCert: Cert;
let stsCert: Cert;
let issuerServer: Server;
let issuer: string;
let hostPath: string;
/** What the issuer serves; tests swap keys (rotation). */
let served: SigningKey[];
let discoveryIssuer: (() => string) | undefined;
let jwksHits = 0;
let k1: SigningKey;
let k2: SigningKey;
let http: RunningSts;
let https: RunningSts;
const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const log: Log = {
  debug: (obj, msg) => lines.push({ level: "debug", obj: obj as Record<string, unknown>, msg }),
  info: (obj, msg) => lines.push({ level: "info", obj: obj as Record<string, unknown>, msg }),
  warn: (obj, msg) => lines.push({ level: "warn", obj: obj as Record<string, unknown>, msg }),
  error: (obj, msg) => lines.push({ level: "error", obj: obj as Record<string, unknown>, msg }),
};

function trust(sub: string): unknown {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowApp",
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${hostPath}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: AUD } },
      },
    ],
  };
}

async function writeConfig(sub = SUB): Promise<void> {
  await writeFile(join(dir, "trust.json"), JSON.stringify(trust(sub)));
  await writeFile(
    join(dir, "sts.yaml"),
    `providers:\n  - url: ${hostPath}\n    clientIds: [${AUD}]\n    caFile: ./ca.crt\nroles:\n  - arn: ${ROLE}\n    trustPolicyFile: ./trust.json\n    maxSessionDuration: 7200\n`,
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "irsa-sts-"));
  ca = await createCa(dir);
  await writeFile(join(dir, "ca.crt"), ca.certPem);
  issuerCert = await issueServingCert(ca, "issuer");
  stsCert = await issueServingCert(ca, "sts");
  k1 = await signingKey("RS256", "k1");
  k2 = await signingKey("ES256", "k2");
  served = [k1];
  issuerServer = createServer({ cert: issuerCert.certPem, key: issuerCert.keyPem }, (req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({ issuer: discoveryIssuer?.() ?? issuer, jwks_uri: `${issuer}/openid/v1/jwks` }),
      );
    } else if (req.url === "/openid/v1/jwks") {
      jwksHits++;
      res.setHeader("content-type", "application/jwk-set+json");
      res.end(jwksOf(...served));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => issuerServer.listen(0, "127.0.0.1", r));
  issuer = `https://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  hostPath = issuer.slice("https://".length);
  await writeConfig();
  const common = {
    configFile: join(dir, "sts.yaml"),
    host: "127.0.0.1",
    port: 0,
    healthPort: undefined,
    jwksTtlMs: 60_000,
    jwksMinRefetchMs: 1000,
    clockSkewSeconds: 60,
    logLevel: "info" as const,
  };
  http = await startSts({ ...common, tlsCertFile: undefined, tlsKeyFile: undefined }, log);
  https = await startSts({ ...common, tlsCertFile: stsCert.certFile, tlsKeyFile: stsCert.keyFile }, log);
});

after(async () => {
  await http.close();
  await https.close();
  await new Promise<void>((r) =>
    issuerServer.close(() => {
      r();
    }),
  );
  rmSync(dir, { recursive: true, force: true });
});

async function post(params: Record<string, string>, body?: string) {
  const res = await fetch(`http://127.0.0.1:${http.port}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body:
      body ??
      new URLSearchParams({
        Action: "AssumeRoleWithWebIdentity",
        Version: "2011-06-15",
        RoleArn: ROLE,
        RoleSessionName: "it",
        ...params,
      }).toString(),
  });
  const text = await res.text();
  assert.equal(xmlProblem(text), undefined, text);
  return {
    status: res.status,
    text,
    check: res.headers.get("x-irsa-check"),
    reason: res.headers.get("x-irsa-check-reason"),
    requestId: res.headers.get("x-amzn-requestid"),
  };
}

/** The SDK's default chain in a child process, as an application would run. */
async function sdkChain(endpoint: string, tokenFile: string, env: Record<string, string> = {}) {
  const r = await run(process.execPath, [join(REPO_ROOT, "dist/test/support/sdk-chain.js")], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_REGION: "us-east-1",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_EC2_METADATA_DISABLED: "true",
      NO_PROXY: "127.0.0.1",
      ...env,
    },
  }).catch((e: unknown) => {
    const x = e as { stdout?: string; stderr?: string };
    return { stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  });
  return JSON.parse(r.stdout || JSON.stringify({ error: { name: "no output", message: r.stderr } })) as {
    identity?: { Arn: string; UserId: string; Account: string };
    accessKeyId?: string;
    error?: { name: string; message: string };
  };
}

describe("the SDK v3 default credential chain against irsa sts serve", () => {
  it("plain HTTP: web identity from the environment, then a signed GetCallerIdentity", async () => {
    const tokenFile = join(dir, "token-http");
    await writeFile(tokenFile, await signToken(k1, { iss: issuer }));
    const r = await sdkChain(`http://127.0.0.1:${http.port}`, tokenFile);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.match(
      r.identity?.Arn ?? "",
      /^arn:aws:sts::111122223333:assumed-role\/app\/aws-sdk-js-session-\d+$/,
    );
    assert.equal(r.identity?.Account, ACCOUNT);
    assert.match(r.identity.UserId, /^AROA[A-Z2-7]{17}:aws-sdk-js-session-\d+$/);
    assert.match(r.accessKeyId ?? "", /^ASIA[A-Z2-7]{16}$/);
  });

  it("HTTPS with the test CA in NODE_EXTRA_CA_CERTS", async () => {
    const tokenFile = join(dir, "token-https");
    await writeFile(tokenFile, await signToken(k1, { iss: issuer }));
    const r = await sdkChain(`https://127.0.0.1:${https.port}`, tokenFile, {
      NODE_EXTRA_CA_CERTS: ca.certFile,
    });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.identity?.Account, ACCOUNT);
  });

  it("the SDK sees AWS's error code for a refused token", async () => {
    const tokenFile = join(dir, "token-bad");
    await writeFile(tokenFile, await signToken(k1, { iss: issuer, sub: "system:serviceaccount:other:app" }));
    const r = await sdkChain(`http://127.0.0.1:${http.port}`, tokenFile);
    assert.equal(r.error?.name, "AccessDenied", JSON.stringify(r));
    assert.match(r.error.message, /Not authorized to perform sts:AssumeRoleWithWebIdentity/);
  });
});

describe("keys fetched from the issuer over HTTPS", () => {
  it("a rotated key (unknown kid) is refetched once; more unknown kids within the interval are not", async () => {
    const first = await post({ WebIdentityToken: await signToken(k1, { iss: issuer }) });
    assert.equal(first.status, 200, first.text);
    served = [k1, k2];
    // Past the least time between two fetches (1 s here, 10 s by default).
    await new Promise((r) => setTimeout(r, 1100));
    const before = jwksHits;
    const rotated = await post({ WebIdentityToken: await signToken(k2, { iss: issuer }) });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(jwksHits, before + 1, "one refetch for the new kid");
    const refetchedAt = performance.now();
    for (let i = 0; i < 5; i++) {
      const r = await post({
        WebIdentityToken: await signToken(k2, { iss: issuer }, { kid: `unknown-${i}` }),
      });
      assert.equal(r.status, 400);
      assert.equal(xmlValue(r.text, "Code"), "InvalidIdentityToken");
      assert.equal(r.check, "keys");
    }
    // At most one more fetch per interval (1 s here) that the five requests spanned: exactly none
    // when they took under a second, as they do on an idle machine.
    const intervals = Math.floor((performance.now() - refetchedAt) / 1000);
    assert.ok(
      jwksHits <= before + 1 + intervals,
      `unknown kids do not make the STS hammer the issuer: ${jwksHits - before - 1} more fetches in ${intervals + 1} s`,
    );
  });

  it("discovery naming another issuer: the keys are not used (AWS's 'Couldn't retrieve verification key')", async () => {
    discoveryIssuer = () => `${issuer}/`;
    try {
      // A fresh STS has no cached keys for the issuer.
      const fresh = await startSts(
        {
          configFile: join(dir, "sts.yaml"),
          host: "127.0.0.1",
          port: 0,
          healthPort: undefined,
          tlsCertFile: undefined,
          tlsKeyFile: undefined,
          jwksTtlMs: 60_000,
          clockSkewSeconds: 60,
          logLevel: "info",
        },
        log,
      );
      try {
        const res = await fetch(
          `http://127.0.0.1:${fresh.port}/?${new URLSearchParams({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: ROLE, RoleSessionName: "get", WebIdentityToken: await signToken(k1, { iss: issuer }) }).toString()}`,
        );
        const text = await res.text();
        assert.equal(res.status, 400);
        assert.match(xmlValue(text, "Message") ?? "", /^Couldn't retrieve verification key/);
        assert.equal(res.headers.get("x-irsa-check"), "keys");
        assert.match(res.headers.get("x-irsa-check-reason") ?? "", /names issuer .*\/", not/);
      } finally {
        await fresh.close();
      }
    } finally {
      discoveryIssuer = undefined;
    }
  });
});

describe("the server", () => {
  it("refuses an oversized body with XML, and names the check in headers and the log", async () => {
    const r = await post({}, `WebIdentityToken=${"a".repeat(70_000)}`);
    assert.equal(r.status, 400);
    assert.equal(xmlValue(r.text, "Code"), "ValidationError");
    assert.equal(r.check, "request-size");
    const ok = await post({ WebIdentityToken: await signToken(k1, { iss: `${issuer}/` }) });
    assert.equal(ok.check, "issuer");
    assert.ok(
      lines.some(
        (l) =>
          l.obj.requestId === ok.requestId &&
          l.obj.check === "issuer" &&
          l.obj.code === "InvalidIdentityToken",
      ),
    );
  });

  it("reloads the config when it changes, and keeps the old one when the new one is bad", async () => {
    const token = await signToken(k1, { iss: issuer });
    assert.equal((await post({ WebIdentityToken: token })).status, 200);
    await writeConfig("system:serviceaccount:someone:else");
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await post({ WebIdentityToken: token })).status;
    }
    assert.equal(status, 403, "the new trust policy is in force");
    await writeFile(join(dir, "sts.yaml"), "providers: [{url: 5}]\n");
    const until = Date.now() + 15_000;
    while (
      !lines.some((l) => l.level === "error" && /keeping the previous one/.test(l.msg)) &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(lines.some((l) => l.level === "error" && /providers\[0\]\.url/.test(String(l.obj.err))));
    assert.equal((await post({ WebIdentityToken: token })).status, 403, "still the previous config");
    await writeConfig();
  });

  it("refuses a bad config at start, naming the field", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, `providers:\n  - url: https://x.example.com\n    clientIds: []\n`);
    await assert.rejects(
      startSts(
        {
          configFile: bad,
          host: "127.0.0.1",
          port: 0,
          healthPort: undefined,
          tlsCertFile: undefined,
          tlsKeyFile: undefined,
          jwksTtlMs: 1000,
          clockSkewSeconds: 60,
          logLevel: "info",
        },
        log,
      ),
      /providers\[0\]\.clientIds: needs at least one entry/,
    );
  });
});

describe("the CLI against the served STS", () => {
  it("irsa sts check fetches the keys (caFile) and prints every check; exit 1 and the deciding reason when denied", async () => {
    await writeConfig();
    const tokenFile = join(dir, "token-check");
    await writeFile(tokenFile, `${await signToken(k1, { iss: issuer })}\n`);
    const ok = await run(process.execPath, [
      CLI,
      "sts",
      "check",
      "--config",
      join(dir, "sts.yaml"),
      "--token",
      tokenFile,
      "--role-arn",
      ROLE,
      "-o",
      "json",
    ]);
    const report = JSON.parse(ok.stdout) as {
      allowed: boolean;
      checks: { name: string; status: string }[];
      trustPolicy: { deciding: string };
    };
    assert.equal(report.allowed, true);
    assert.equal(report.checks.length, 13);
    assert.equal(report.trustPolicy.deciding, 'Statement[0] (Sid "AllowApp")');
    await writeFile(tokenFile, await signToken(k1, { iss: issuer, sub: "system:serviceaccount:x:y" }));
    const denied = await run(process.execPath, [
      CLI,
      "sts",
      "check",
      "--config",
      join(dir, "sts.yaml"),
      "--token",
      tokenFile,
      "--role-arn",
      ROLE,
    ]).catch((e: unknown) => e as { code: number; stdout: string });
    assert.equal((denied as { code?: number }).code, 1);
    assert.match(denied.stdout, /fail {2}trust-policy/);
    assert.match(denied.stdout, /result: refused; STS would answer AccessDenied \(HTTP 403\)/);
  });

  it("irsa credentials prints credential_process JSON and caches it (0600) until shortly before it expires", async () => {
    await writeConfig();
    const tokenFile = join(dir, "token-cred");
    await writeFile(tokenFile, await signToken(k1, { iss: issuer }));
    const cache = join(dir, "cache");
    const args = [
      CLI,
      "credentials",
      "--role-arn",
      ROLE,
      "--token-file",
      tokenFile,
      "--sts-endpoint",
      `http://127.0.0.1:${http.port}`,
      "--cache-dir",
      cache,
    ];
    const first = JSON.parse(
      (await run(process.execPath, args, { env: { ...process.env, HOME: dir } })).stdout,
    ) as Record<string, unknown>;
    assert.equal(first.Version, 1);
    assert.match(String(first.AccessKeyId), /^ASIA/);
    assert.ok(Date.parse(String(first.Expiration)) > Date.now() + 3000_000);
    const [file] = (await import("node:fs")).readdirSync(cache);
    assert.equal((await stat(join(cache, file ?? ""))).mode & 0o777, 0o600);
    assert.equal((await stat(cache)).mode & 0o777, 0o700);
    // A second call comes from the cache: the same key, even with the token gone.
    await writeFile(tokenFile, "");
    const second = JSON.parse((await run(process.execPath, args)).stdout) as Record<string, unknown>;
    assert.equal(second.AccessKeyId, first.AccessKeyId);
    assert.deepEqual(Object.keys(second), [
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
    assert.ok((await readFile(join(cache, file ?? ""), "utf8")).includes("IssuedAt"));
  });
});
