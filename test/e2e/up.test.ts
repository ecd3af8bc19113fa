/**
 * `irsa up` as a user runs it: a child process with the peers the build scripts built, whose
 * summary's URLs, kubeconfig and app env file are used for real (the discovery document and JWKS
 * over HTTPS with the stack's CA, the AWS CLI against the stack's STS with the pod's settings), then
 * stopped with SIGINT: it exits 0, and no process it started and not its temp dir is left.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { after, test } from "node:test";
import { awsCliBin, etcdBin, httpCall, IRSA_CLI, kubeApiserverBin, run } from "./harness/index.js";

let child: ChildProcess | undefined;
after(() => {
  // Only if an assertion failed before the SIGINT: never leave the stack running.
  if (child?.exitCode === null) child.kill("SIGKILL");
});

/** True while a process with this PID exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

test("irsa up: runs the chain, serves what its summary says, and SIGINT leaves nothing behind", async () => {
  const proc = spawn(process.execPath, [IRSA_CLI, "up"], {
    env: {
      ...process.env,
      IRSA_KUBE_APISERVER: kubeApiserverBin(),
      IRSA_ETCD: etcdBin(),
      IRSA_STACK_KEEP: "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let out = "";
  let err = "";
  proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ctrl-C stops it.")) resolve();
    });
    void exited.then((code) => {
      reject(new Error(`irsa up exited ${String(code)} early:\n${out}\n${err}`));
    });
  });

  // Each step was printed as it happened, in order.
  const steps = [...out.matchAll(/^\[[0-9.]+s\] (.*)$/gm)].map((m) => m[1] ?? "");
  assert.equal(steps.length, 8, out);
  assert.match(steps[0] ?? "", /kube-apiserver/);
  assert.match(steps[6] ?? "", /^`irsa doctor` on the stack itself/);
  assert.match(steps[7] ?? "", /^done: the chain works end to end/);
  const summary = out.slice(out.indexOf("The stack is up:"));
  const field = (name: string): string => {
    const v = new RegExp(`^  ${name} +(.+)$`, "m").exec(summary)?.[1];
    assert.ok(v !== undefined, `the summary has no "${name}" line:\n${out}`);
    return v;
  };
  const issuer = field("issuer");
  const kid = /\(kid ([A-Za-z0-9_-]+)\)$/.exec(field("JWKS"))?.[1] ?? "";
  const ca = readFileSync(field("CA"), "utf8");
  const kubeconfig = field("kubeconfig");
  const stackDir = dirname(kubeconfig);
  const pids = field("processes")
    .split(", ")
    .map((p) => Number(/ ([0-9]+)$/.exec(p)?.[1]));
  assert.equal(pids.length, 4, field("processes"));
  for (const pid of pids) assert.ok(alive(pid), `process ${pid} runs while the stack is up`);
  assert.match(out, new RegExp(`export KUBECONFIG=${kubeconfig}`));
  assert.match(out, /^ {2}irsa doctor --ca-file .* --service-account demo\/app \\$/m);
  assert.match(out, /aws sts get-caller-identity/);

  // The issuer's documents, anonymously over HTTPS, trusting only the stack's CA.
  const discovery = await httpCall(field("discovery"), { ca });
  assert.equal(discovery.status, 200);
  const doc = JSON.parse(discovery.text) as { issuer: string; jwks_uri: string };
  assert.equal(doc.issuer, issuer);
  const jwks = JSON.parse((await httpCall(doc.jwks_uri, { ca })).text) as { keys: { kid: string }[] };
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    [kid],
  );

  // The summary's hint as written: the AWS CLI with the app env file gets the pod's role from the STS.
  const cli = await run("bash", [
    "-c",
    `. "$1" && "$2" sts get-caller-identity --output json`,
    "up-test",
    field("app env"),
    awsCliBin(),
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  const me = JSON.parse(cli.stdout) as { Arn: string };
  assert.match(me.Arn, /^arn:aws:sts::111122223333:assumed-role\/demo-app\//);
  assert.match(field("STS"), /^http:\/\/127\.0\.0\.1:[0-9]+$/);

  proc.kill("SIGINT");
  assert.equal(await exited, 0, `${out}\n${err}`);
  assert.match(out, /SIGINT: stopping etcd, kube-apiserver, irsa-webhook, irsa-sts/);
  for (const pid of pids) assert.ok(!alive(pid), `process ${pid} was stopped`);
  assert.ok(!existsSync(stackDir), `${stackDir} was removed`);
});
