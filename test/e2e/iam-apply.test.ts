/**
 * `irsa iam provider apply` and `irsa iam role apply` against moto in server mode, run as child
 * processes with the SDK's default credential chain from the environment. The calls they make are
 * recorded by a proxy in front of moto (harness/iam-recorder.ts, which also stands in for the two
 * client-id actions moto lacks); what they created is read back with the AWS CLI.
 */
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { IamApi } from "../../src/adapters/aws/iam.js";
import { applyProvider } from "../../src/adapters/aws/iam-apply.js";
import { thumbprint } from "../../src/adapters/oidc/thumbprint.js";
import { createCa, issueCert, issueServingCert } from "../../src/adapters/pki/index.js";
import { buildTrustPolicy, type TrustPolicyDocument } from "../../src/core/iam/index.js";
import { irsaCliPath } from "../../src/stack/peers.js";
import {
  aws,
  awsOk,
  AWS_TEST_ENV,
  REGION,
  run,
  startMoto,
  stopAll,
  tempDir,
  TEST_CREDENTIALS,
  type Moto,
  type RunResult,
} from "./harness/index.js";
import { startIamRecorder, type IamRecorder } from "./harness/iam-recorder.js";

const ISSUER = "https://oidc.example.com/cluster-1";
const HOST_PATH = "oidc.example.com/cluster-1";
const TP1 = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
/** moto's account. */
const ACCOUNT = "123456789012";
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST_PATH}`;

let moto: Moto;
let rec: IamRecorder;

before(async () => {
  moto = await startMoto();
  rec = await startIamRecorder(moto.endpoint);
});
after(async () => {
  await rec.close();
  await stopAll();
});

/**
 * `irsa ARGS... --endpoint-url <recorder>` as a child process with the test credentials; forgets
 * earlier recorded calls. `to` sends it elsewhere, unrecorded.
 */
async function irsa(
  args: readonly string[],
  o: { env?: Readonly<Record<string, string | undefined>>; to?: string } = {},
): Promise<RunResult> {
  rec.reset();
  return run(process.execPath, [irsaCliPath(), ...args, "--endpoint-url", o.to ?? rec.endpoint], {
    env: { ...AWS_TEST_ENV, ...o.env },
  });
}

/** The command failed with `stderr` matching, and wrote nothing. */
function refused(r: RunResult, stderr: RegExp): void {
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, stderr);
  assert.deepEqual(rec.writes(), []);
}

/** The provider as moto has it (read past the recorder). */
async function readProvider(
  arn = PROVIDER_ARN,
): Promise<{ Url: string; ClientIDList: string[]; ThumbprintList: string[] }> {
  return (await awsOk(["iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn], {
    endpoint: moto.endpoint,
  })) as { Url: string; ClientIDList: string[]; ThumbprintList: string[] };
}

describe("irsa iam provider apply", () => {
  const base = ["iam", "provider", "apply", "--issuer", ISSUER];

  it("--dry-run on nothing says it would create the provider, and writes nothing", async () => {
    const r = await irsa([...base, "--thumbprint", TP1, "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would call CreateOpenIDConnectProvider: https:\/\/oidc\.example\.com\/cluster-1/);
    assert.deepEqual(rec.writes(), []);
    assert.deepEqual(rec.actions, ["GetCallerIdentity", "GetOpenIDConnectProvider"]);
  });

  it("creates the provider and prints its ARN", async () => {
    const r = await irsa([...base, "--thumbprint", TP1.toUpperCase()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${PROVIDER_ARN}\n`);
    assert.deepEqual(rec.writes(), ["CreateOpenIDConnectProvider"]);
    const p = await readProvider();
    assert.equal(p.Url, HOST_PATH);
    assert.deepEqual(p.ClientIDList, ["sts.amazonaws.com"]);
    assert.deepEqual(p.ThumbprintList, [TP1]);
  });

  it("a second run makes no write call", async () => {
    const r = await irsa([...base, "--thumbprint", TP1]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${PROVIDER_ARN}\n`);
    assert.match(r.stderr, /up to date/);
    assert.deepEqual(rec.writes(), []);
    // Without --thumbprint the existing provider keeps its own: still nothing to write.
    const again = await irsa(base);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(rec.writes(), []);
  });

  it("a new audience: --dry-run names the call and writes nothing, then the provider gets it", async () => {
    const dry = await irsa([
      ...base,
      "--audience",
      "sts.amazonaws.com",
      "--audience",
      "minio",
      "--dry-run",
      "-o",
      "json",
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as { changes: unknown; writes: unknown; dryRun: boolean };
    assert.deepEqual(plan.changes, [{ action: "AddClientIDToOpenIDConnectProvider", detail: "minio" }]);
    assert.deepEqual(plan.writes, []);
    assert.deepEqual(rec.writes(), []);
    assert.deepEqual((await readProvider()).ClientIDList, ["sts.amazonaws.com"]);

    const r = await irsa([...base, "--audience", "sts.amazonaws.com", "--audience", "minio"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rec.writes(), ["AddClientIDToOpenIDConnectProvider"]);
    const p = await readProvider();
    assert.deepEqual(p.ClientIDList, ["sts.amazonaws.com", "minio"]);
    assert.deepEqual(p.ThumbprintList, [TP1]);
  });

  it("keeps client ids others rely on unless --prune", async () => {
    const keep = await irsa([...base, "--audience", "minio"]);
    assert.equal(keep.code, 0, keep.stderr);
    assert.deepEqual(rec.writes(), []);
    const pruned = await irsa([...base, "--audience", "sts.amazonaws.com", "--prune"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(rec.writes(), ["RemoveClientIDFromOpenIDConnectProvider"]);
    assert.deepEqual((await readProvider()).ClientIDList, ["sts.amazonaws.com"]);
  });

  it("without --thumbprint, creates the provider with the issuer's (from its jwks_uri host)", async () => {
    const dir = await tempDir("iam-thumb");
    const root = await createCa(dir, "iam apply root");
    const sub = await issueCert(root, { name: "sub", commonName: "iam apply intermediate", isCa: true });
    const leaf = await issueServingCert(sub, "leaf");
    const server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
      const { port } = server.address() as AddressInfo;
      res.end(JSON.stringify({ issuer: "x", jwks_uri: `https://localhost:${port}/openid/v1/jwks` }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      // IAM issuers carry no port, so the adapter is called with the server's URL for the thumbprint.
      const api = new IamApi({ endpointUrl: rec.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
      rec.reset();
      const r = await applyProvider(api, {
        issuer: "thumb.example.com/c9",
        partition: "aws",
        accountId: ACCOUNT,
        clientIds: ["sts.amazonaws.com"],
        thumbprints: [],
        prune: false,
        dryRun: false,
        computeThumbprint: async () =>
          (await thumbprint(`https://localhost:${port}`, root.certFile)).thumbprint,
      });
      assert.equal(r.created, true);
      assert.deepEqual(rec.writes(), ["CreateOpenIDConnectProvider"]);
      const sha1 = createHash("sha1").update(new X509Certificate(sub.certPem).raw).digest("hex");
      assert.deepEqual((await readProvider(r.arn)).ThumbprintList, [sha1]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("without --thumbprint, an unreachable issuer is an error that says to pass one, and nothing is written", async () => {
    refused(
      await irsa(["iam", "provider", "apply", "--issuer", "https://oidc.invalid/c1"]),
      /cannot compute the thumbprint of https:\/\/oidc\.invalid\/c1[\s\S]*pass --thumbprint/,
    );
  });

  it("refuses a sixth thumbprint, naming --prune", async () => {
    const tps = ["a", "b", "c", "d", "e"].flatMap((c) => ["--thumbprint", c.repeat(40)]);
    refused(await irsa([...base, ...tps]), /at most 5 thumbprints; this would make 6[\s\S]*--prune/);
  });
});

describe("irsa iam role apply", () => {
  let policyArn: string;
  const base = ["iam", "role", "apply", "--name", "app-s3", "--issuer", ISSUER];
  /** The role as first created: one account, the policy attached, sessions up to 2 hours. */
  const created = (): string[] => [
    ...base,
    "--service-account",
    "team/app",
    "--policy-arn",
    policyArn,
    "--max-session-duration",
    "7200",
  ];
  const want = (subjects: string[]): TrustPolicyDocument =>
    buildTrustPolicy({
      partition: "aws",
      accountId: ACCOUNT,
      issuer: HOST_PATH,
      serviceAccounts: subjects.map((s) => {
        const [namespace = "", name = ""] = s.split("/");
        return { namespace, name };
      }),
      audiences: ["sts.amazonaws.com"],
    });

  async function readRole(): Promise<{ trust: unknown; maxSession: number; attached: string[] }> {
    const e = { endpoint: moto.endpoint };
    const got = await awsOk(["iam", "get-role", "--role-name", "app-s3"], e);
    const role = (got as { Role: { AssumeRolePolicyDocument: unknown; MaxSessionDuration: number } }).Role;
    const att = await awsOk(["iam", "list-attached-role-policies", "--role-name", "app-s3"], e);
    return {
      trust: role.AssumeRolePolicyDocument,
      maxSession: role.MaxSessionDuration,
      attached: (att as { AttachedPolicies: { PolicyArn: string }[] }).AttachedPolicies.map(
        (p) => p.PolicyArn,
      ),
    };
  }

  before(async () => {
    const p = await awsOk(
      [
        "iam",
        "create-policy",
        "--policy-name",
        "app-s3-read",
        "--policy-document",
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::app/*" }],
        }),
      ],
      { endpoint: moto.endpoint },
    );
    policyArn = (p as { Policy: { Arn: string } }).Policy.Arn;
  });

  it("refuses to create a role whose provider does not exist, writing nothing", async () => {
    refused(
      await irsa([
        "iam",
        "role",
        "apply",
        "--name",
        "orphan",
        "--issuer",
        "https://oidc.example.com/other",
        "--service-account",
        "team/app",
      ]),
      /oidc-provider\/oidc\.example\.com\/other does not exist[\s\S]*irsa iam provider apply/,
    );
  });

  it("--dry-run writes nothing", async () => {
    const r = await irsa([...base, "--service-account", "team/app", "--policy-arn", policyArn, "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would call CreateRole: role app-s3/);
    assert.match(r.stdout, /would call AttachRolePolicy: arn:aws:iam::123456789012:policy\/app-s3-read/);
    assert.deepEqual(rec.writes(), []);
    const gone = await aws(["iam", "get-role", "--role-name", "app-s3"], { endpoint: moto.endpoint });
    assert.notEqual(gone.code, 0);
  });

  it("creates the role: the trust policy read back is the one meant, the policy attached", async () => {
    const r = await irsa(created());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rec.writes(), ["CreateRole", "AttachRolePolicy"]);
    assert.equal(
      r.stdout,
      `kubectl annotate serviceaccount --namespace team app eks.amazonaws.com/role-arn=arn:aws:iam::${ACCOUNT}:role/app-s3 --overwrite\n`,
    );
    const role = await readRole();
    assert.deepEqual(role.trust, want(["team/app"]));
    assert.equal(role.maxSession, 7200);
    assert.deepEqual(role.attached, [policyArn]);
  });

  it("a second run makes no write call", async () => {
    const r = await irsa(created());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /up to date/);
    assert.deepEqual(rec.writes(), []);
  });

  it("another account: --dry-run writes nothing, then only the trust policy is replaced", async () => {
    const args = [
      ...base,
      "--service-account",
      "team/app",
      "--service-account",
      "batch/worker",
      "--audience",
      "sts.amazonaws.com",
    ];
    const dry = await irsa([...args, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "would call UpdateAssumeRolePolicy: replace the trust policy of app-s3\n");
    assert.deepEqual(rec.writes(), []);
    assert.deepEqual((await readRole()).trust, want(["team/app"]));

    const r = await irsa(args);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rec.writes(), ["UpdateAssumeRolePolicy"]);
    assert.equal(r.stdout.split("\n").filter((l) => l.startsWith("kubectl annotate")).length, 2);
    const role = await readRole();
    assert.deepEqual(role.trust, want(["team/app", "batch/worker"]));
    assert.equal(role.maxSession, 7200, "kept when not given");
    assert.deepEqual(role.attached, [policyArn]);
  });

  it("--output json says what was called and written", async () => {
    const r = await irsa([
      ...base,
      "--service-account",
      "team/app",
      "--service-account",
      "batch/worker",
      "-o",
      "json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      arn: string;
      changed: boolean;
      writes: string[];
      calls: string[];
      kubectl: string[];
    };
    assert.equal(out.arn, `arn:aws:iam::${ACCOUNT}:role/app-s3`);
    assert.equal(out.changed, false);
    assert.deepEqual(out.writes, []);
    assert.deepEqual(out.calls, rec.actions);
    assert.equal(out.kubectl.length, 2);
  });

  it("refuses a policy ARN of another partition before calling IAM to write", async () => {
    refused(
      await irsa([
        ...base,
        "--service-account",
        "team/app",
        "--policy-arn",
        "arn:aws-cn:iam::aws:policy/ReadOnlyAccess",
      ]),
      /partition aws-cn, the role in aws/,
    );
  });
});

describe("missing permissions", () => {
  let limited: Moto;
  const keys = { id: "", secret: "" };

  before(async () => {
    // moto authorizes every call after the first three (the setup below) against its IAM.
    limited = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: "3" } });
    const e = { endpoint: limited.endpoint };
    await awsOk(["iam", "create-user", "--user-name", "deployer"], e);
    await awsOk(
      [
        "iam",
        "put-user-policy",
        "--user-name",
        "deployer",
        "--policy-name",
        "read-only",
        "--policy-document",
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["iam:Get*", "sts:GetCallerIdentity"], Resource: "*" }],
        }),
      ],
      e,
    );
    const key = await awsOk(["iam", "create-access-key", "--user-name", "deployer"], e);
    const k = (key as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
    keys.id = k.AccessKeyId;
    keys.secret = k.SecretAccessKey;
  });

  it("names the IAM action that was refused", async () => {
    const r = await irsa(["iam", "provider", "apply", "--issuer", ISSUER, "--thumbprint", TP1], {
      to: limited.endpoint,
      env: { AWS_ACCESS_KEY_ID: keys.id, AWS_SECRET_ACCESS_KEY: keys.secret },
    });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /AWS refused CreateOpenIDConnectProvider/);
    assert.match(r.stderr, /grant the caller the IAM action iam:CreateOpenIDConnectProvider/);
  });
});
