/**
 * A verifying STS (MinIO) trusts kube-apiserver as its OpenID provider: a TokenRequest token for
 * audience sts.amazonaws.com is exchanged for credentials; a token with the same kid and claims but
 * signed by another key, and a token for another audience, are refused. The same MinIO is also the
 * S3 endpoint where discovery documents can be published for anonymous reads, as on AWS S3.
 */
import { AssumeRoleWithWebIdentityCommand } from "@aws-sdk/client-sts";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  allowAnonymousDiscovery,
  aws,
  createNamespace,
  createServiceAccount,
  httpCall,
  irsaOk,
  requestToken,
  startKube,
  startMinio,
  stopAll,
  stsClient,
  tempDir,
  type Kube,
  type Minio,
} from "./harness/index.js";

let kube: Kube;
let minio: Minio;
let ns: string;

before(async () => {
  kube = await startKube({ keyType: "rsa" });
  // MinIO, like STS, fetches the discovery document and JWKS without credentials.
  await allowAnonymousDiscovery(kube.kubeConfig);
  minio = await startMinio({
    openidConfigUrl: `${kube.issuer}/.well-known/openid-configuration`,
    ca: kube.ca,
    clientId: "sts.amazonaws.com",
  });
  ns = await createNamespace(kube.kubeConfig);
  await createServiceAccount(kube.kubeConfig, ns, "app");
});
after(stopAll);

/** AssumeRoleWithWebIdentity at MinIO for its role, through the AWS SDK v3. */
function assumeRole(token: string, sessionName: string) {
  return stsClient(minio.endpoint).send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: minio.roleArn,
      RoleSessionName: sessionName,
      WebIdentityToken: token,
    }),
  );
}

function isStsError(code: string, message: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.equal((e as { name?: string }).name, code, String(e));
    assert.match((e as { message?: string }).message ?? "", message);
    return true;
  };
}

test("MinIO exchanges a kube-apiserver token for credentials (SDK v3)", async (t) => {
  t.diagnostic(`minio ready (OpenID provider loaded) in ${minio.startMs} ms`);
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: ["sts.amazonaws.com"] });
  const res = await assumeRole(token, "e2e-sdk");
  assert.ok(res.Credentials?.AccessKeyId, "an access key id");
  assert.ok(res.Credentials.SecretAccessKey, "a secret key");
  assert.ok(res.Credentials.SessionToken, "a session token");
  assert.ok(res.Credentials.Expiration instanceof Date);
  assert.equal(res.SubjectFromWebIdentityToken, `system:serviceaccount:${ns}:app`);
});

test("MinIO exchanges a kube-apiserver token for credentials (AWS CLI)", async () => {
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: ["sts.amazonaws.com"] });
  const r = await aws(
    [
      "sts",
      "assume-role-with-web-identity",
      "--role-arn",
      minio.roleArn,
      "--role-session-name",
      "e2e-cli",
      "--web-identity-token",
      token,
    ],
    { endpoint: minio.endpoint, credentials: false },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = r.json() as { Credentials?: { AccessKeyId?: string; SessionToken?: string } };
  assert.ok(out.Credentials?.AccessKeyId, r.stdout);
  assert.ok(out.Credentials.SessionToken, r.stdout);
});

test("MinIO refuses a token with the same kid and claims signed by another key", async () => {
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: ["sts.amazonaws.com"] });
  const header = decodeProtectedHeader(token);
  const claims = decodeJwt(token);
  const { privateKey } = await generateKeyPair("RS256");
  const forged = await new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: header.kid ?? "", typ: header.typ })
    .sign(privateKey);
  assert.deepEqual(decodeJwt(forged), claims);
  assert.equal(decodeProtectedHeader(forged).kid, header.kid);
  await assert.rejects(
    assumeRole(forged, "e2e-forged"),
    isStsError("InvalidParameterValue", /verification error/),
  );
});

test("MinIO refuses a genuine token issued for another audience", async () => {
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: ["something-else"] });
  await assert.rejects(assumeRole(token, "e2e-aud"), isStsError("InvalidParameterValue", /azp|aud/));
});

test("MinIO's S3 serves documents published with the AWS CLI to anonymous readers, byte for byte", async () => {
  const root = {
    AWS_ACCESS_KEY_ID: minio.rootUser,
    AWS_SECRET_ACCESS_KEY: minio.rootPassword,
  };
  const s3 = async (args: string[]) => {
    const r = await aws(args, { endpoint: minio.endpoint, env: root });
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  const bucket = "oidc-e2e";
  await s3(["s3api", "create-bucket", "--bucket", bucket]);
  const policy = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: ["*"] },
        Action: ["s3:GetObject"],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
  await s3(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", JSON.stringify(policy)]);

  const issuer = "https://oidc.example.com/cluster-1";
  const discovery = (await irsaOk(["discovery", "--issuer", issuer, "--key", kube.saPubFile])).stdout.slice(
    0,
    -1,
  );
  const jwks = (await irsaOk(["jwks", "--key", kube.saPubFile])).stdout.slice(0, -1);
  const dir = await tempDir("s3-docs");
  for (const [key, body, type] of [
    [".well-known/openid-configuration", discovery, "application/json"],
    ["openid/v1/jwks", jwks, "application/jwk-set+json"],
  ] as const) {
    const file = join(dir, key.replaceAll("/", "_"));
    await writeFile(file, body);
    await s3([
      "s3api",
      "put-object",
      "--bucket",
      bucket,
      "--key",
      key,
      "--body",
      file,
      "--content-type",
      type,
    ]);
    const res = await httpCall(`${minio.endpoint}/${bucket}/${key}`);
    assert.equal(res.status, 200, `anonymous GET ${key}: ${res.text}`);
    assert.equal(res.text, body, `${key} is served exactly as irsa printed it`);
    assert.equal(res.headers["content-type"], type);
  }
  const denied = await httpCall(`${minio.endpoint}/${bucket}?list-type=2`);
  assert.equal(denied.status, 403, "anonymous readers may fetch the documents but not list the bucket");
});
