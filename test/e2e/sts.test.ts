/**
 * `irsa sts serve` trusts a real kube-apiserver as its OpenID provider (discovery and JWKS fetched
 * over HTTPS with the cluster's CA): a TokenRequest token is exchanged by the AWS SDK v3 default
 * credential chain, by boto3's default chain and by the AWS CLI, each then calling GetCallerIdentity
 * with the credentials; forged and mismatched tokens get AWS's error codes.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import {
  allowAnonymousDiscovery,
  aws,
  awsCliBin,
  createNamespace,
  createServiceAccount,
  REPO_ROOT,
  requestToken,
  run,
  startIrsaSts,
  startKube,
  stopAll,
  tempDir,
  type IrsaSts,
  type Kube,
} from "./harness/index.js";

const ACCOUNT = "111122223333";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const AUD = "sts.amazonaws.com";

let kube: Kube;
let sts: IrsaSts;
let ns: string;
let dir: string;

before(async () => {
  kube = await startKube({ keyType: "rsa" });
  // STS fetches discovery and the JWKS without credentials, as AWS does.
  await allowAnonymousDiscovery(kube.kubeConfig);
  ns = await createNamespace(kube.kubeConfig);
  await createServiceAccount(kube.kubeConfig, ns, "app");
  await createServiceAccount(kube.kubeConfig, ns, "other");
  dir = await tempDir("sts");
  const hostPath = kube.issuer.slice("https://".length);
  const trust = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AppInNamespace",
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${hostPath}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: { [`${hostPath}:sub`]: `system:serviceaccount:${ns}:app`, [`${hostPath}:aud`]: AUD },
        },
      },
    ],
  };
  await writeFile(
    join(dir, "sts.json"),
    JSON.stringify({
      providers: [{ url: kube.issuer, clientIds: [AUD], caFile: kube.ca.certFile }],
      roles: [{ arn: ROLE, trustPolicy: trust }],
    }),
  );
  // The log goes elsewhere: the STS watches its config's directory.
  sts = await startIrsaSts(join(dir, "sts.json"), await tempDir("sts-log"));
});
after(stopAll);

const cleanEnv = {
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  NO_PROXY: "127.0.0.1",
  no_proxy: "127.0.0.1",
};

async function tokenFile(name: string, sa = "app", audiences = [AUD]): Promise<string> {
  const { token } = await requestToken(kube.kubeConfig, ns, sa, { audiences });
  const file = join(dir, name);
  await writeFile(file, token);
  return file;
}

test("the AWS SDK v3 default credential chain exchanges a kube-apiserver token and calls GetCallerIdentity", async () => {
  const file = await tokenFile("sdk-token");
  const r = await run(process.execPath, [join(REPO_ROOT, "dist/test/support/sdk-chain.js")], {
    env: {
      ...cleanEnv,
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: file,
      AWS_ENDPOINT_URL_STS: sts.endpoint,
      AWS_REGION: "us-east-1",
    },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { identity: { Arn: string; Account: string } };
  assert.match(out.identity.Arn, /^arn:aws:sts::111122223333:assumed-role\/app\/aws-sdk-js-session-\d+$/);
  assert.equal(out.identity.Account, ACCOUNT);
});

test("boto3: the default chain (web identity from the environment) and an explicit exchange", async () => {
  const file = await tokenFile("boto3-token");
  const python = join(dirname(awsCliBin()), "python");
  const script = `
import json, os, boto3
from botocore import UNSIGNED
from botocore.config import Config
ident = boto3.client("sts").get_caller_identity()
raw = boto3.client("sts", config=Config(signature_version=UNSIGNED)).assume_role_with_web_identity(
    RoleArn=os.environ["AWS_ROLE_ARN"], RoleSessionName="boto3-explicit", WebIdentityToken=open(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]).read())
print(json.dumps({"arn": ident["Arn"], "explicit": raw["AssumedRoleUser"]["Arn"], "provider": raw["Provider"], "audience": raw["Audience"], "subject": raw["SubjectFromWebIdentityToken"], "key": raw["Credentials"]["AccessKeyId"]}))
`;
  const r = await run(python, ["-c", script], {
    env: {
      ...cleanEnv,
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: file,
      AWS_ENDPOINT_URL_STS: sts.endpoint,
      AWS_DEFAULT_REGION: "us-east-1",
    },
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, string>;
  assert.match(out.arn ?? "", /^arn:aws:sts::111122223333:assumed-role\/app\/botocore-session-\d+$/);
  assert.equal(out.explicit, "arn:aws:sts::111122223333:assumed-role/app/boto3-explicit");
  assert.equal(out.provider, `arn:aws:iam::${ACCOUNT}:oidc-provider/${kube.issuer.slice(8)}`);
  assert.equal(out.audience, AUD);
  assert.equal(out.subject, `system:serviceaccount:${ns}:app`);
  assert.match(out.key ?? "", /^ASIA[A-Z2-7]{16}$/);
});

test("the AWS CLI: assume-role-with-web-identity, then get-caller-identity with the credentials", async () => {
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: [AUD] });
  const r = await aws(
    [
      "sts",
      "assume-role-with-web-identity",
      "--role-arn",
      ROLE,
      "--role-session-name",
      "e2e-cli",
      "--web-identity-token",
      token,
    ],
    { endpoint: sts.endpoint, credentials: false },
  );
  assert.equal(r.code, 0, r.stderr);
  const c = (
    r.json() as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }
  ).Credentials;
  const who = await aws(["sts", "get-caller-identity"], {
    endpoint: sts.endpoint,
    credentials: false,
    env: {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: c.SessionToken,
    },
  });
  assert.equal(who.code, 0, who.stderr);
  assert.deepEqual(who.json(), {
    UserId: (who.json() as { UserId: string }).UserId,
    Account: ACCOUNT,
    Arn: "arn:aws:sts::111122223333:assumed-role/app/e2e-cli",
  });
  assert.match((who.json() as { UserId: string }).UserId, /^AROA[A-Z2-7]{17}:e2e-cli$/);
  // A secret that is not the issued one: AWS's SignatureDoesNotMatch.
  const forged = await aws(["sts", "get-caller-identity"], {
    endpoint: sts.endpoint,
    credentials: false,
    env: {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      // Another last character (when the secret already ends with "x", appending "x" forged nothing).
      AWS_SECRET_ACCESS_KEY: `${c.SecretAccessKey.slice(0, -1)}${c.SecretAccessKey.endsWith("x") ? "y" : "x"}`,
      AWS_SESSION_TOKEN: c.SessionToken,
    },
  });
  assert.notEqual(forged.code, 0);
  assert.match(forged.stderr, /SignatureDoesNotMatch/);
});

async function cliError(token: string): Promise<string> {
  const r = await aws(
    [
      "sts",
      "assume-role-with-web-identity",
      "--role-arn",
      ROLE,
      "--role-session-name",
      "e2e-bad",
      "--web-identity-token",
      token,
    ],
    { endpoint: sts.endpoint, credentials: false },
  );
  assert.notEqual(r.code, 0, r.stdout);
  return `${r.stderr}\n${sts.proc.tail(6)}`;
}

test("real tokens the trust policy or the provider refuses get AWS's codes", async () => {
  const other = (await requestToken(kube.kubeConfig, ns, "other", { audiences: [AUD] })).token;
  assert.match(
    await cliError(other),
    /\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/,
  );
  const kubeAud = (await requestToken(kube.kubeConfig, ns, "app", { audiences: [kube.issuer] })).token;
  assert.match(await cliError(kubeAud), /\(InvalidIdentityToken\).*Incorrect token audience/);
});

test("a token with the cluster's kid and claims signed by another key is InvalidIdentityToken", async () => {
  const { token } = await requestToken(kube.kubeConfig, ns, "app", { audiences: [AUD] });
  const { privateKey } = await generateKeyPair("RS256");
  const forged = await new SignJWT(decodeJwt(token))
    .setProtectedHeader(decodeProtectedHeader(token) as { alg: string })
    .sign(privateKey);
  assert.match(await cliError(forged), /\(InvalidIdentityToken\)/);
  const slash = await new SignJWT({ ...decodeJwt(token), iss: `${kube.issuer}/` })
    .setProtectedHeader({ alg: "RS256" })
    .sign(privateKey);
  assert.match(
    await cliError(slash),
    /\(InvalidIdentityToken\).*No OpenIDConnect provider found in your account for https:\/\/127\.0\.0\.1:\d+\//,
  );
});

test("irsa credentials prints credential_process JSON for a kube-apiserver token", async () => {
  const file = await tokenFile("cred-token");
  const r = await promisify(execFile)(process.execPath, [
    join(REPO_ROOT, "dist/src/cli/main.js"),
    "credentials",
    "--role-arn",
    ROLE,
    "--token-file",
    file,
    "--sts-endpoint",
    sts.endpoint,
    "--no-cache",
  ]);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out.Version, 1);
  assert.match(String(out.AccessKeyId), /^ASIA/);
});
