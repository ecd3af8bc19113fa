/**
 * `irsa up`: the local stack (src/stack/local-stack.ts) as a command. Runs the chain, printing each
 * step, then a summary of what runs where and what to try next; runs until SIGINT or SIGTERM, then
 * stops every process it started and removes its temp dir.
 */
import type { LocalStack } from "../../stack/local-stack.js";
import type { CommandBody } from "../command.js";

function summary(s: LocalStack, once: boolean): string {
  const kubeconfig = s.kube.kubeconfigFile;
  const rows: [string, string][] = [
    ["API server", s.kube.url],
    ["issuer", s.kube.issuer],
    ["discovery", s.discoveryUrl],
    ["JWKS", `${s.jwksUrl} (kid ${s.kid})`],
    ["CA", s.kube.ca.certFile],
    ["kubeconfig", kubeconfig],
    ["webhook", s.webhookUrl],
    ["metrics", s.metricsUrl],
    ["STS", s.stsEndpoint],
    ["pod", `${s.namespace}/${s.podName}, role ${s.roleArn}`],
    ["app env", s.envFile],
    ["logs", s.kube.dir],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const procs = s.processes.map((p) => `${p.name} ${p.pid}`).join(", ");
  const up = `
The stack is up:
${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n")}
  ${"processes".padEnd(width)}  ${procs}
`;
  if (once) return `${up}\n--once: stopping it now (irsa up without --once keeps it running)\n`;
  return `${up}
Try next:
  export KUBECONFIG=${kubeconfig}
  kubectl get pod -n ${s.namespace} ${s.podName} -o yaml     # the env vars and volume the webhook added
  irsa doctor --ca-file ${s.kube.ca.certFile} --service-account ${s.namespace}/app \\
    --webhook-configuration irsa-anywhere --sts-config ${s.stsConfig} --sts-endpoint ${s.stsEndpoint}
  (. ${s.envFile} && aws sts get-caller-identity)   # the pod's credentials, from the local STS
  curl --cacert ${s.kube.ca.certFile} ${s.discoveryUrl}
`;
}

export const up: CommandBody = {
  help: `Usage: irsa up [--once]

Runs the whole IRSA chain on loopback and keeps it up: etcd and kube-apiserver with a key from
\`irsa keys generate\`, \`irsa webhook\` registered with the API server, a ServiceAccount with a role
and a pod the webhook mutates, the pod's token, \`irsa sts serve\` as AWS STS, and an app that gets
AWS credentials through the AWS SDK. Prints each step as it happens, then the URLs, the kubeconfig
and what to try next. Ctrl-C (SIGINT) or SIGTERM stops every process it started and removes its
temp dir (IRSA_STACK_KEEP=1 keeps it). Exits 0 once stopped, 1 naming the step that failed.

kube-apiserver and etcd come from IRSA_KUBE_APISERVER and IRSA_ETCD, else from where
bash scripts/setup.sh builds them: $IRSA_PEER_CACHE (default ~/.cache/irsa-anywhere/peers)/
kube-$K8S_VERSION/bin.

Options:
  --once   stop as soon as the chain has run (exit 0 when every step worked)
`,
  options: { once: { type: "boolean" } },
  async run(values, _pos, io) {
    const { startLocalStack, stopAll, untilStopSignal } = await import("../../stack/index.js");
    // Owned before the first process starts, so Ctrl-C at any point ends in the same cleanup.
    const stopSignal = untilStopSignal();
    try {
      const started = startLocalStack({
        out: (t) => {
          io.out(t);
        },
        doctor: async (stack) => {
          const { checkStack } = await import("../../doctor/main.js");
          const { report, text } = await checkStack(stack);
          return { ok: report.ok, text };
        },
      });
      const first = await Promise.race([started, stopSignal]);
      if (typeof first === "string") {
        io.out(`\n${first}: stopping before the stack was up\n`);
        await stopAll(); // the step under way then fails at once: its process is gone
        await started.catch(() => undefined);
        return 130;
      }
      io.out(summary(first, values.once === true));
      if (values.once === true) return 0;
      io.out("\nCtrl-C stops it.\n");
      const sig = await stopSignal;
      io.out(`\n${sig}: stopping ${first.processes.map((p) => p.name).join(", ")}\n`);
      return 0;
    } finally {
      await stopAll();
      io.out("stopped: no process of the stack is left\n");
    }
  },
};
