/**
 * Group 3, the webhook as kube-apiserver calls it: its MutatingWebhookConfiguration, the serving
 * certificate against the caBundle and its expiry, and a dry-run pod create for the account. Pure.
 */
import { fail, pass, skip, warn, type CheckDef } from "./check.js";

/**
 * Less than this left before the serving certificate expires is worth a warning: cert-manager
 * renews at two thirds of the lifetime, so a certificate this close to its end was not renewed.
 */
export const CERT_WARN_SECONDS = 86_400;
const DAY = 86_400;

const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.000Z$/, "Z");

export const WEBHOOK_CHECKS: readonly CheckDef[] = [
  {
    id: "webhook-config",
    group: "webhook",
    title: "MutatingWebhookConfiguration",
    needs: [],
    run(f) {
      const w = f.webhook;
      if (w === undefined) return skip(f.skipped.webhook ?? "no --kubeconfig");
      const fix = `deploy the webhook: kubectl apply -k deploy/webhook (or name its configuration with --webhook-configuration)`;
      if (!w.webhooks.ok)
        return fail(`cannot read MutatingWebhookConfiguration ${w.configuration}: ${w.webhooks.error}`, fix);
      const hooks = w.webhooks.value;
      if (hooks === undefined) return fail(`no MutatingWebhookConfiguration ${w.configuration}`, fix);
      const h = hooks.find((x) => x.podsCreate);
      if (h === undefined) return fail(`${w.configuration} has no webhook for pod CREATE`, fix);
      if (h.caBundle === undefined || h.caBundle === "")
        return fail(
          `webhook ${h.name} has no caBundle: kube-apiserver cannot trust it`,
          "set clientConfig.caBundle (cert-manager: the cert-manager.io/inject-ca-from annotation)",
        );
      return pass(
        `${w.configuration}: ${h.name} → ${h.url ?? `service ${h.service ?? "?"}`}, failurePolicy ${h.failurePolicy ?? "Fail"}`,
      );
    },
  },
  {
    id: "webhook-tls",
    group: "webhook",
    title: "caBundle verifies the serving certificate",
    needs: ["webhook-config"],
    run(f) {
      const s = f.webhook?.serving;
      if (s === undefined)
        return skip(
          "the webhook is registered through a Service, which doctor does not reach from outside the cluster (webhook-dry-run shows whether kube-apiserver does)",
        );
      if (!s.ok)
        return fail(
          `the webhook does not answer: ${s.error}`,
          "check that the webhook runs and that its URL or Service reaches it",
        );
      const v = s.value;
      const renew =
        "renew the serving certificate (cert-manager renews before expiry; irsa webhook re-reads --tls-cert and --tls-key when they change)";
      if (v.notAfter <= f.now)
        return fail(
          `the serving certificate (${v.subject}) expired at ${iso(v.notAfter)}, ${Math.floor((f.now - v.notAfter) / DAY)} days ago: kube-apiserver refuses it`,
          renew,
        );
      if (v.notBefore > f.now)
        return fail(
          `the serving certificate (${v.subject}) is not valid before ${iso(v.notBefore)}`,
          "check the clocks, or reissue the certificate",
        );
      if (!v.verified)
        return fail(
          `the caBundle does not verify the serving certificate (${v.subject}): ${v.verifyError ?? "unknown"}`,
          "put the CA that issued the serving certificate in clientConfig.caBundle (cert-manager: the cert-manager.io/inject-ca-from annotation)",
        );
      const hours = Math.floor((v.notAfter - f.now) / 3600);
      const seen = `the caBundle verifies ${v.subject}; it expires ${iso(v.notAfter)}, in ${hours >= 48 ? `${Math.floor(hours / 24)} days` : `${hours} hours`}`;
      if (v.notAfter - f.now < CERT_WARN_SECONDS) return warn(`${seen}: less than a day`, renew);
      return pass(seen);
    },
  },
  {
    id: "webhook-dry-run",
    group: "webhook",
    title: "a dry-run pod gets credentials",
    needs: ["webhook-config", "service-account"],
    after: ["webhook-tls"],
    run(f) {
      const r = f.webhook?.dryRun;
      if (r === undefined)
        return skip(f.serviceAccount === undefined ? "no --service-account NS/NAME" : "no dry run");
      if (!r.ok)
        return fail(
          `the dry-run pod create failed: ${r.error}`,
          "the --kubeconfig identity needs create on pods in the namespace",
        );
      const fix =
        "check the webhook's log, its namespaceSelector and objectSelector, and that kube-apiserver reaches it (failurePolicy Ignore admits pods without credentials)";
      const missing: string[] = [];
      for (const c of r.value.containers) {
        if (c.env.AWS_ROLE_ARN !== f.roleArn)
          missing.push(
            `container ${c.name}: AWS_ROLE_ARN ${c.env.AWS_ROLE_ARN === undefined ? "missing" : `is ${c.env.AWS_ROLE_ARN}`}`,
          );
        if (c.env.AWS_WEB_IDENTITY_TOKEN_FILE === undefined)
          missing.push(`container ${c.name}: AWS_WEB_IDENTITY_TOKEN_FILE missing`);
      }
      if (!r.value.volumes.includes("aws-iam-token")) missing.push("volume aws-iam-token missing");
      if (missing.length > 0)
        return fail(`the pod came back without its credentials: ${missing.join("; ")}`, fix);
      return pass(
        `the pod came back with AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token volume`,
      );
    },
  },
];
