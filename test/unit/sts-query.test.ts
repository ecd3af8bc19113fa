import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { KNOWN_ERROR_CODES } from "../../src/core/sts/errors.js";
import { checkAssumeParams } from "../../src/core/sts/params.js";
import {
  answerQuery,
  headerSafe,
  IssuedStore,
  queryParams,
  requestId,
  type QueryRequest,
  type StsService,
} from "../../src/core/sts/query.js";
import { errorXml, xmlText } from "../../src/core/sts/xml.js";
import {
  jwksOf,
  rawToken,
  ROLE_ARN,
  signToken,
  signingKey,
  staticResolver,
  stsConfig,
  ISSUER,
  SUB,
  AUD,
  type SigningKey,
} from "../support/sts.js";
import { sdkSigned } from "../support/sdk-signed.js";
import { xmlProblem, xmlValue } from "../support/xml.js";
import { fuzzRuns } from "../support/fuzz.js";

let key: SigningKey;
let svc: StsService;

before(async () => {
  key = await signingKey("RS256", "k1");
  svc = {
    config: () => stsConfig(),
    resolver: staticResolver(jwksOf(key)),
    issued: new IssuedStore(1000),
    now: Date.now,
    random: (n) => randomBytes(n),
  };
});

function form(params: Record<string, string>, method = "POST"): QueryRequest {
  const body = new URLSearchParams(params).toString();
  return method === "GET"
    ? { method, path: "/", query: body, headers: {}, body: Buffer.alloc(0) }
    : {
        method,
        path: "/",
        query: "",
        headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
        body: Buffer.from(body),
      };
}

const assume = (over: Record<string, string> = {}): Record<string, string> => ({
  Action: "AssumeRoleWithWebIdentity",
  Version: "2011-06-15",
  RoleArn: ROLE_ARN,
  RoleSessionName: "s1",
  ...over,
});

/** An AssumeRoleWithWebIdentity answered by a service whose config throws "config gone". */
async function answerWithBrokenConfig() {
  const broken: StsService = {
    ...svc,
    config: () => {
      throw new Error("config gone");
    },
  };
  return answerQuery(form(assume({ WebIdentityToken: await signToken(key) })), broken);
}

describe("answerQuery: AssumeRoleWithWebIdentity", () => {
  it("POST and GET give AWS's XML with well-formed credentials", async () => {
    for (const method of ["POST", "GET"]) {
      const a = await answerQuery(form(assume({ WebIdentityToken: await signToken(key) }), method), svc);
      assert.equal(a.status, 200, a.body);
      assert.equal(xmlProblem(a.body), undefined);
      assert.match(
        a.body,
        /^<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/,
      );
      assert.match(xmlValue(a.body, "AccessKeyId") ?? "", /^ASIA[A-Z2-7]{16}$/);
      assert.match(xmlValue(a.body, "SecretAccessKey") ?? "", /^[A-Za-z0-9+/]{40}$/);
      assert.ok((xmlValue(a.body, "SessionToken") ?? "").length > 100);
      assert.match(xmlValue(a.body, "Expiration") ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(xmlValue(a.body, "Arn"), "arn:aws:sts::111122223333:assumed-role/app/s1");
      assert.match(xmlValue(a.body, "AssumedRoleId") ?? "", /^AROA[A-Z2-7]{17}:s1$/);
      assert.equal(xmlValue(a.body, "SubjectFromWebIdentityToken"), SUB);
      assert.equal(
        xmlValue(a.body, "Provider"),
        "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/cluster-1",
      );
      assert.equal(xmlValue(a.body, "Audience"), AUD);
      assert.equal(xmlValue(a.body, "RequestId"), a.requestId);
      assert.match(a.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("the role's path is dropped from the assumed-role ARN", async () => {
    const path = "arn:aws:iam::111122223333:role/team/app2";
    const local: StsService = {
      ...svc,
      config: () =>
        stsConfig(undefined, [
          { arn: path, trustPolicy: { Statement: { Effect: "Allow", Principal: "*", Action: "sts:*" } } },
        ]),
    };
    const a = await answerQuery(
      form(assume({ RoleArn: path, WebIdentityToken: await signToken(key) })),
      local,
    );
    assert.equal(xmlValue(a.body, "Arn"), "arn:aws:sts::111122223333:assumed-role/app2/s1");
  });

  it("an error is AWS's ErrorResponse with Type, Code, Message and RequestId", async () => {
    const a = await answerQuery(
      form(assume({ WebIdentityToken: await signToken(key, { iss: `${ISSUER}/` }) })),
      svc,
    );
    assert.equal(a.status, 400);
    assert.equal(xmlProblem(a.body), undefined);
    assert.match(
      a.body,
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\n {2}<Error>\n {4}<Type>Sender<\/Type>\n {4}<Code>InvalidIdentityToken<\/Code>/,
    );
    assert.equal(
      xmlValue(a.body, "Message"),
      `No OpenIDConnect provider found in your account for ${ISSUER}/`,
    );
    assert.equal(xmlValue(a.body, "RequestId"), a.requestId);
    assert.equal(a.check, "issuer");
  });

  const params: [string, Record<string, string>, RegExp][] = [
    [
      "no RoleArn",
      { RoleArn: "" },
      /Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20/,
    ],
    [
      "a one-character session name",
      { RoleSessionName: "a" },
      /at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2/,
    ],
    [
      "a session name with a space",
      { RoleSessionName: "a b" },
      /Member must satisfy regular expression pattern: \[\\w\+=,\.@-\]\*/,
    ],
    ["a 65-character session name", { RoleSessionName: "a".repeat(65) }, /length less than or equal to 64/],
    [
      "DurationSeconds 899",
      { DurationSeconds: "899" },
      /at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900/,
    ],
    ["DurationSeconds 43201", { DurationSeconds: "43201" }, /less than or equal to 43200/],
    ["DurationSeconds not a number", { DurationSeconds: "1h" }, /at 'durationSeconds'/],
    [
      "an oversized token",
      { WebIdentityToken: "a".repeat(20_001) },
      /at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000/,
    ],
    [
      "a 3-character token",
      { WebIdentityToken: "a.b" },
      /at 'webIdentityToken' .* greater than or equal to 4/,
    ],
    ["a session Policy over 2048 characters", { Policy: `{"a":"${"x".repeat(2048)}"}` }, /at 'policy'/],
  ];
  for (const [title, over, re] of params) {
    it(`ValidationError for ${title}`, async () => {
      const a = await answerQuery(form(assume({ WebIdentityToken: "x.y.z", ...over })), svc);
      assert.equal(a.status, 400);
      assert.equal(a.errorCode, "ValidationError");
      assert.match(xmlValue(a.body, "Message") ?? "", /^\d validation errors? detected: /);
      assert.match(xmlValue(a.body, "Message") ?? "", re);
      assert.ok(
        !(xmlValue(a.body, "Message") ?? "").includes(
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".repeat(10),
        ),
        "the token is never echoed",
      );
    });
  }

  it("counts every missing parameter, as AWS", () => {
    const r = checkAssumeParams(() => undefined);
    assert.ok(!r.ok);
    assert.match(
      r.error.message,
      /^3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; /,
    );
  });

  it("MalformedPolicyDocument for a session Policy that is not JSON", async () => {
    const a = await answerQuery(
      form(assume({ WebIdentityToken: await signToken(key), Policy: "{nope" })),
      svc,
    );
    assert.equal(a.errorCode, "MalformedPolicyDocument");
  });

  it("InvalidAction for other actions and versions; MissingAction without one", async () => {
    const a = await answerQuery(form({ Action: "AssumeRole", Version: "2011-06-15" }), svc);
    assert.equal(a.errorCode, "InvalidAction");
    assert.equal(xmlValue(a.body, "Message"), "Could not find operation AssumeRole for version 2011-06-15");
    const v = await answerQuery(form(assume({ Version: "2011-06-16" })), svc);
    assert.equal(
      xmlValue(v.body, "Message"),
      "Could not find operation AssumeRoleWithWebIdentity for version 2011-06-16",
    );
    assert.equal((await answerQuery(form({}), svc)).errorCode, "MissingAction");
  });

  it("GetCallerIdentity without a signature is MissingAuthenticationToken", async () => {
    const a = await answerQuery(form({ Action: "GetCallerIdentity", Version: "2011-06-15" }), svc);
    assert.equal(a.status, 403);
    assert.equal(a.errorCode, "MissingAuthenticationToken");
  });
});

describe("answerQuery: GetCallerIdentity and the request's shape", () => {
  it("credentials an AssumeRoleWithWebIdentity issued sign a GetCallerIdentity that names the assumed role", async () => {
    const a = await answerQuery(form(assume({ WebIdentityToken: await signToken(key) })), svc);
    const credentials = {
      accessKeyId: xmlValue(a.body, "AccessKeyId") ?? "",
      secretAccessKey: xmlValue(a.body, "SecretAccessKey") ?? "",
      sessionToken: xmlValue(a.body, "SessionToken") ?? "",
    };
    const { req } = await sdkSigned(credentials);
    const who = await answerQuery(req, svc);
    assert.equal(who.status, 200, who.body);
    assert.equal(who.action, "GetCallerIdentity");
    assert.equal(who.check, "ok");
    assert.equal(who.errorCode, undefined);
    assert.equal(who.reason, `credentials ${credentials.accessKeyId}`);
    assert.match(
      who.body,
      /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/,
    );
    assert.equal(xmlValue(who.body, "Arn"), "arn:aws:sts::111122223333:assumed-role/app/s1");
    assert.equal(xmlValue(who.body, "Account"), "111122223333");
    assert.equal(xmlValue(who.body, "UserId"), xmlValue(a.body, "AssumedRoleId"));
    assert.equal(xmlProblem(who.body), undefined);
    assert.equal(xmlValue(who.body, "RequestId"), who.requestId);
    assert.match(who.body, /<\/GetCallerIdentityResponse>\n$/);
    const wrong = await answerQuery(
      { ...req, headers: { ...req.headers, "x-amz-security-token": "x" } },
      svc,
    );
    assert.equal(wrong.errorCode, "InvalidClientTokenId");
    assert.equal(wrong.check, "signature");
    assert.equal(wrong.reason, "the session token does not belong to the access key");
  });

  it("a refused AssumeRoleWithWebIdentity names the failed check and keeps the verdict", async () => {
    const a = await answerQuery(form(assume({ WebIdentityToken: await signToken(key, { sub: "x" }) })), svc);
    assert.equal(a.action, "AssumeRoleWithWebIdentity");
    assert.equal(a.check, "trust-policy");
    assert.equal(a.errorCode, "AccessDenied");
    assert.equal(a.status, 403);
    assert.equal(a.verdict?.failed?.name, "trust-policy");
    assert.equal(a.reason, a.verdict.failed.reason);
    const ok = await answerQuery(form(assume({ WebIdentityToken: await signToken(key) })), svc);
    assert.equal(ok.check, "ok");
    assert.equal(ok.errorCode, undefined);
    assert.equal(ok.reason, ok.verdict?.decision?.reason);
    assert.equal(
      svc.issued.get(xmlValue(ok.body, "AccessKeyId") ?? "")?.arn,
      "arn:aws:sts::111122223333:assumed-role/app/s1",
    );
  });

  it("methods other than GET and POST are InvalidAction, naming the method", async () => {
    const a = await answerQuery({ ...form(assume()), method: "DELETE" }, svc);
    assert.equal(a.errorCode, "InvalidAction");
    assert.equal(a.check, "method");
    assert.equal(a.reason, "DELETE");
    assert.equal(a.action, "");
    assert.equal(xmlValue(a.body, "Message"), "The HTTP method DELETE is not supported; use GET or POST.");
  });

  it("ProviderId is refused for OIDC tokens (InvalidParameterValue)", async () => {
    const a = await answerQuery(
      form(assume({ WebIdentityToken: await signToken(key), ProviderId: "www.amazon.com" })),
      svc,
    );
    assert.equal(a.errorCode, "InvalidParameterValue");
    assert.equal(a.check, "parameters");
    assert.equal(a.reason, "ProviderId given");
  });

  it("parameters: the query string first, then a form body; the first value of a name wins", () => {
    const params = queryParams({
      method: "POST",
      path: "/",
      query: "Action=A&Action=B&x=1",
      headers: { "content-type": ["Application/X-WWW-Form-Urlencoded ; charset=utf-8"] },
      body: Buffer.from("Action=C&y=2&y=3"),
    });
    assert.deepEqual(
      [...params],
      [
        ["Action", "A"],
        ["x", "1"],
        ["y", "2"],
      ],
    );
    const noType = queryParams({
      method: "POST",
      path: "/",
      query: "",
      headers: {},
      body: Buffer.from("y=2"),
    });
    assert.equal(noType.get("y"), "2");
    for (const [method, type] of [
      ["POST", "application/json"],
      ["GET", "application/x-www-form-urlencoded"],
    ] as const) {
      const p = queryParams({
        method,
        path: "/",
        query: "",
        headers: { "content-type": type },
        body: Buffer.from("y=2"),
      });
      assert.equal(p.size, 0, `${method} ${type}`);
    }
  });

  it("an exception inside is InternalFailure (500, Receiver), never thrown", async () => {
    const a = await answerWithBrokenConfig();
    assert.equal(a.status, 500);
    assert.equal(a.errorCode, "InternalFailure");
    assert.equal(a.check, "internal");
    assert.equal(a.reason, "config gone");
    assert.equal(xmlValue(a.body, "Type"), "Receiver");
  });

  it("request ids are version 4 UUIDs built from the random bytes", () => {
    assert.equal(
      requestId(() => new Uint8Array(16).fill(0xff)),
      "ffffffff-ffff-4fff-bfff-ffffffffffff",
    );
    assert.equal(
      requestId(() => new Uint8Array(16)),
      "00000000-0000-4000-8000-000000000000",
    );
  });

  it("headerSafe escapes what an HTTP header cannot carry and keeps 500 characters", () => {
    assert.equal(headerSafe("a\u00e9\n~ b"), "a\\u00e9\\u000a~ b");
    assert.equal(headerSafe("x".repeat(600)).length, 500);
  });
});

describe("answerQuery: what each refusal says", () => {
  it("an early refusal carries status, body, request id, action, code, check and reason, and no verdict", async () => {
    const a = await answerQuery(form({ Action: "", Version: "2011-06-15" }), svc);
    const { body, requestId: id, ...rest } = a;
    assert.deepEqual(rest, {
      status: 400,
      action: "",
      errorCode: "MissingAction",
      check: "action",
      reason: "no Action parameter",
    });
    assert.equal(xmlValue(body, "Message"), "Missing Action");
    assert.equal(xmlValue(body, "RequestId"), id);
  });

  it("without Version: InvalidAction for version NO_VERSION_SPECIFIED, as AWS", async () => {
    const noVersion = assume();
    delete noVersion.Version;
    const a = await answerQuery(form(noVersion), svc);
    assert.equal(a.errorCode, "InvalidAction");
    assert.equal(a.action, "AssumeRoleWithWebIdentity");
    assert.equal(a.check, "action");
    assert.equal(a.reason, "unsupported Action AssumeRoleWithWebIdentity or Version");
    assert.equal(
      xmlValue(a.body, "Message"),
      "Could not find operation AssumeRoleWithWebIdentity for version NO_VERSION_SPECIFIED",
    );
  });

  it("a long Action is shown cut to 128 characters, a long Version to 64, a long method to 32", async () => {
    const action = `A${"c".repeat(199)}`;
    const version = `V${"v".repeat(99)}`;
    const a = await answerQuery(form({ Action: action, Version: version }), svc);
    assert.equal(a.action, action.slice(0, 128));
    assert.equal(a.reason, `unsupported Action ${action.slice(0, 128)} or Version`);
    assert.equal(
      xmlValue(a.body, "Message"),
      `Could not find operation ${action.slice(0, 128)} for version ${version.slice(0, 64)}`,
    );
    const method = `M${"X".repeat(39)}`;
    const m = await answerQuery({ ...form(assume()), method }, svc);
    assert.equal(
      xmlValue(m.body, "Message"),
      `The HTTP method ${method.slice(0, 32)} is not supported; use GET or POST.`,
    );
    assert.equal(m.reason, method);
  });

  it("a ValidationError's reason lists each problem, as its message does after the count", async () => {
    const a = await answerQuery(
      form(assume({ RoleArn: "", RoleSessionName: "a", WebIdentityToken: "x.y.z" })),
      svc,
    );
    const problems = [
      "Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
      "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    ];
    assert.equal(a.check, "parameters");
    assert.equal(a.reason, problems.join("; "));
    assert.equal(xmlValue(a.body, "Message"), `2 validation errors detected: ${problems.join("; ")}`);
    assert.equal(a.verdict, undefined);
  });

  it("a session Policy must be a JSON object (MalformedPolicyDocument); one is accepted and not applied", async () => {
    const token = await signToken(key);
    for (const policy of ["null", "[]", "5", '"x"']) {
      const a = await answerQuery(form(assume({ WebIdentityToken: token, Policy: policy })), svc);
      assert.equal(a.errorCode, "MalformedPolicyDocument", policy);
      assert.equal(a.status, 400);
      assert.equal(a.check, "parameters");
      assert.equal(a.reason, "the session Policy is not a JSON object");
      assert.equal(xmlValue(a.body, "Message"), "The policy is not in the valid JSON format.");
    }
    const ok = await answerQuery(form(assume({ WebIdentityToken: token, Policy: '{"Statement":[]}' })), svc);
    assert.equal(ok.status, 200, ok.body);
  });

  it("ProviderId's refusal says it is only for OAuth 2.0 access tokens", async () => {
    const a = await answerQuery(
      form(assume({ WebIdentityToken: await signToken(key), ProviderId: "graph.facebook.com" })),
      svc,
    );
    assert.equal(a.status, 400);
    assert.equal(
      xmlValue(a.body, "Message"),
      "ProviderId is only for OAuth 2.0 access tokens; omit it for OpenID Connect ID tokens.",
    );
  });

  it("InternalFailure's message is AWS's, the exception stays in the reason", async () => {
    const a = await answerWithBrokenConfig();
    assert.equal(xmlValue(a.body, "Message"), "An internal error occurred.");
    assert.equal(a.action, "");
  });
});

describe("answerQuery: issued credentials' lifetime", () => {
  it("Expiration is now plus DurationSeconds (3600 without it), in whole seconds, and the store keeps the same instant", async () => {
    const nowMs = Date.now() - (Date.now() % 1000) + 789;
    const fixed: StsService = { ...svc, now: () => nowMs, issued: new IssuedStore(10) };
    for (const [duration, seconds] of [
      [undefined, 3600],
      ["900", 900],
      ["7200", 7200],
    ] as const) {
      const over: Record<string, string> = { WebIdentityToken: await signToken(key) };
      if (duration !== undefined) over.DurationSeconds = duration;
      const a = await answerQuery(form(assume(over)), fixed);
      assert.equal(a.status, 200, a.body);
      const until = nowMs + seconds * 1000;
      assert.equal(xmlValue(a.body, "Expiration"), `${new Date(until).toISOString().slice(0, 19)}Z`);
      assert.equal(fixed.issued.get(xmlValue(a.body, "AccessKeyId") ?? "")?.expiration, until);
    }
  });
});

describe("IssuedStore", () => {
  const rec = (n: number, expiration: number) => ({
    accessKeyId: `K${n}`,
    secretAccessKey: "s",
    sessionToken: "t",
    expiration,
    arn: "a",
    userId: "u",
    account: "1",
  });
  it("when full, drops the expired first, then the oldest down to 90 % of the bound", () => {
    const s = new IssuedStore(10);
    for (let i = 0; i < 10; i++) s.put(rec(i, i < 3 ? 100 : 1000), 0);
    assert.equal(s.size, 10);
    s.put(rec(10, 1000), 100);
    // K0..K2 expired at 100; 7 left is under 9, so nothing else goes.
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => s.get(`K${i}`) !== undefined),
      [false, false, false, true],
    );
    assert.equal(s.size, 8);
    const t = new IssuedStore(10);
    for (let i = 0; i < 10; i++) t.put(rec(i, 1000), 0);
    t.put(rec(10, 1000), 0);
    // None expired: the oldest go until 9 are left, then the new one: 10.
    assert.equal(t.size, 10);
    assert.equal(t.get("K0"), undefined);
    assert.ok(t.get("K1"));
    assert.ok(t.get("K10"));
  });
  it("below the bound nothing is dropped, expired or not", () => {
    const s = new IssuedStore(10);
    for (let i = 0; i < 9; i++) s.put(rec(i, 0), 1000);
    s.put(rec(9, 0), 1000);
    assert.equal(s.size, 10);
  });
});

describe("xmlText", () => {
  it("escapes markup and replaces characters XML cannot carry", () => {
    assert.equal(xmlText(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
    assert.equal(xmlText("a\u0000b\u001fc\ud800d\uffffe"), "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe");
    assert.equal(xmlText("tab\tnl\n😀"), "tab\tnl\n😀");
  });
  it("keeps exactly XML 1.0's characters: tab, LF, CR, U+0020 to U+D7FF, U+E000 to U+FFFD, U+10000 and up", () => {
    const kept = "\t\n\r \ud7ff\ue000\ufffd\u{10000}\u{10ffff}";
    assert.equal(xmlText(kept), kept);
    for (const c of ["\u0008", "\u000b", "\u001f", "\ud800", "\udfff", "\ufffe", "\uffff"]) {
      assert.equal(xmlText(`a${c}b`), "a\uFFFDb", JSON.stringify(c));
    }
    const e = errorXml(
      { code: "InvalidIdentityToken", status: 400, type: "Sender", message: "]]><x>&\u0001" },
      "id",
    );
    assert.equal(xmlProblem(e), undefined);
    assert.equal(xmlValue(e, "Message"), "]]><x>&\uFFFD");
  });
});

/** A small seeded generator (xorshift32): the fuzz is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe("fuzz: 100,000 random requests and tokens", () => {
  it("never throws; every answer is well-formed XML with a known code", async () => {
    const r = rng(20261202);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const junk = (n: number): string => {
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * (r() < 0.9 ? 128 : 0x10000)));
      return s;
    };
    const good = await signToken(key);
    const pieces = [
      good,
      good.slice(0, 50),
      `${good}x`,
      good.replace(/\./g, ""),
      rawToken({ alg: "none" }, { iss: ISSUER }),
      "....",
      "a.b.c",
      `${good.split(".")[0] ?? ""}.${Buffer.from("[]").toString("base64url")}.x`,
    ];
    const mutate = (t: string): string => {
      const chars = Array.from(t);
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) chars[Math.floor(r() * chars.length)] = junk(1);
      return chars.join("");
    };
    const claimValues = [null, 1, 1.5, "x", [], {}, [1], true, -1, 2 ** 53, ISSUER, SUB, AUD, [AUD]];
    const randomClaims = (): string =>
      rawToken(
        { alg: pick(["RS256", "ES256", "HS256", "none", 5, null]), kid: pick(["k1", 1, undefined, "x"]) },
        {
          iss: pick(claimValues),
          sub: pick(claimValues),
          aud: pick(claimValues),
          exp: pick(claimValues),
          nbf: pick(claimValues),
          iat: pick(claimValues),
          amr: pick(claimValues),
          azp: pick(claimValues),
        },
        junk(Math.floor(r() * 10)).replace(/[^A-Za-z0-9_-]/g, "A"),
      );
    const known = new Set<string>(KNOWN_ERROR_CODES);
    const started = performance.now();
    const counts = new Map<string, number>();
    const N = fuzzRuns(100_000);
    for (let i = 0; i < N; i++) {
      const kind = r();
      const token =
        kind < 0.3
          ? mutate(pick(pieces))
          : kind < 0.6
            ? randomClaims()
            : kind < 0.8
              ? pick(pieces)
              : junk(Math.floor(r() * 200));
      const p: Record<string, string> = {};
      if (r() < 0.95)
        p.Action =
          r() < 0.9 ? "AssumeRoleWithWebIdentity" : pick(["GetCallerIdentity", "AssumeRole", junk(8), ""]);
      if (r() < 0.95) p.Version = r() < 0.95 ? "2011-06-15" : junk(10);
      if (r() < 0.9) p.RoleArn = r() < 0.9 ? ROLE_ARN : junk(30);
      if (r() < 0.9) p.RoleSessionName = r() < 0.8 ? "s1" : junk(Math.floor(r() * 80));
      if (r() < 0.95) p.WebIdentityToken = token;
      if (r() < 0.2) p.DurationSeconds = pick(["900", "3600", "7200", "7201", "43201", "-1", "1e3", junk(4)]);
      if (r() < 0.05) p.Policy = pick(["{}", "[", junk(20)]);
      if (r() < 0.02) p.ProviderId = "www.amazon.com";
      const method = r() < 0.97 ? pick(["POST", "GET"]) : pick(["PUT", "DELETE", junk(5)]);
      const req = form(p, method === "GET" ? "GET" : "POST");
      const headers: Record<string, string> = { ...(req.headers as Record<string, string>) };
      if (r() < 0.05) headers["content-type"] = pick(["text/plain", junk(10), "application/json"]);
      if (r() < 0.05)
        headers.authorization = pick([
          `AWS4-HMAC-SHA256 Credential=ASIA${junk(16)}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
          junk(40),
        ]);
      const body = r() < 0.03 ? Buffer.from(junk(100)) : req.body;
      const a = await answerQuery({ ...req, method, headers, body }, svc);
      const problem = xmlProblem(a.body);
      if (problem !== undefined) assert.fail(`request ${i}: ${problem}\n${a.body}`);
      if (a.status === 200) {
        assert.match(a.body, /^<(AssumeRoleWithWebIdentity|GetCallerIdentity)Response /);
      } else {
        const code = xmlValue(a.body, "Code") ?? "";
        assert.ok(known.has(code), `request ${i}: unknown code ${code}`);
        assert.notEqual(code, "InternalFailure", `request ${i}: ${a.reason}`);
        counts.set(code, (counts.get(code) ?? 0) + 1);
      }
    }
    const ms = performance.now() - started;
    // Bounded time: about 15 s of CPU; the bound leaves room for a busy shared CI machine.
    assert.ok(ms < 180_000, `${ms} ms`);
    for (const code of ["ValidationError", "InvalidIdentityToken", "InvalidAction", "AccessDenied"]) {
      assert.ok((counts.get(code) ?? 0) > 0, `the fuzz reached ${code}`);
    }
  });
});
