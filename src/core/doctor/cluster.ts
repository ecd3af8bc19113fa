/**
 * Group 2, the cluster against what is published: the API server's issuer, its signing key among
 * the published keys, a TokenRequest token checked as STS checks it, and the API server's own
 * audiences. Also the ServiceAccount and its role annotation, which later groups read. Pure.
 */
import { isObject } from "../json.js";
import { parseJwks } from "../sts/keys.js";
import { parseRoleArn } from "../sts/arn.js";
import { fail, mismatch, pass, skip, warn, type CheckDef } from "./check.js";
import type { ClusterFacts, DoctorFacts } from "./facts.js";

const KUBECONFIG_FIX =
  "check --kubeconfig; its identity needs the ClusterRole system:service-account-issuer-discovery";

function noCluster(f: DoctorFacts): string {
  return f.skipped.cluster ?? "no --kubeconfig";
}

function apiIssuer(c: ClusterFacts): { ok: true; issuer: string } | { ok: false; error: string } {
  if (!c.discovery.ok) return { ok: false, error: c.discovery.error };
  try {
    const doc = JSON.parse(c.discovery.value) as unknown;
    if (isObject(doc) && typeof doc.issuer === "string") return { ok: true, issuer: doc.issuer };
  } catch {
    // reported below
  }
  return { ok: false, error: "the API server's discovery document has no issuer" };
}

const sa = (f: DoctorFacts): string =>
  // Stryker disable next-line StringLiteral: the facts read an account and request its token only for a --service-account
  f.serviceAccount === undefined ? "" : `${f.serviceAccount.namespace}/${f.serviceAccount.name}`;

export const CLUSTER_CHECKS: readonly CheckDef[] = [
  {
    id: "cluster-issuer",
    group: "cluster",
    title: "API server's issuer is the published one",
    needs: ["issuer-url"],
    run(f, d) {
      const c = f.cluster;
      if (c === undefined) return skip(noCluster(f));
      const got = apiIssuer(c);
      if (!got.ok) return fail(`cannot read the API server's issuer: ${got.error}`, KUBECONFIG_FIX);
      // Stryker disable next-line StringLiteral: cluster-issuer needs issuer-url, which is skipped without an issuer
      const issuer = f.issuer ?? "";
      const fix = `run kube-apiserver with --service-account-issuer=${issuer} first (keep ${got.issuer} as a second --service-account-issuer until the tokens it signed expire)`;
      if (got.issuer !== issuer)
        return fail(`kube-apiserver --service-account-issuer: ${mismatch(got.issuer, issuer)}`, fix);
      const iss = d.token?.claims?.iss;
      if (iss !== undefined && iss !== issuer)
        return fail(`TokenRequest tokens carry iss ${mismatch(iss, issuer)}`, fix);
      return pass(`${got.issuer}${iss === undefined ? "" : ", and tokens carry it as iss"}`);
    },
  },
  {
    id: "service-account",
    group: "cluster",
    title: "ServiceAccount and its role",
    // Stryker disable next-line ArrayDeclaration: a prerequisite that names no check is never failed or skipped
    needs: [],
    run(f) {
      const c = f.cluster;
      if (c === undefined) return skip(noCluster(f));
      if (c.serviceAccount === undefined) return skip("no --service-account NS/NAME");
      const name = sa(f);
      if (!c.serviceAccount.ok)
        return fail(`cannot read ServiceAccount ${name}: ${c.serviceAccount.error}`, KUBECONFIG_FIX);
      const s = c.serviceAccount.value;
      if (s.annotations === undefined)
        return fail(
          `ServiceAccount ${name} does not exist`,
          `kubectl create serviceaccount -n ${s.namespace} ${s.name}`,
        );
      const annotateFix = `kubectl annotate serviceaccount -n ${s.namespace} ${s.name} ${f.roleAnnotation}=arn:aws:iam::ACCOUNT:role/NAME`;
      if (f.roleArn === undefined)
        return fail(
          `ServiceAccount ${name} has no ${f.roleAnnotation} annotation: the webhook leaves its pods alone`,
          annotateFix,
        );
      if (parseRoleArn(f.roleArn) === undefined)
        return fail(`${JSON.stringify(f.roleArn)} is not a role ARN`, `${annotateFix} --overwrite`);
      return pass(`${name}: role ${f.roleArn}, audience ${f.audience}`);
    },
  },
  {
    id: "cluster-keys",
    group: "cluster",
    title: "signing key is published",
    needs: ["jwks-keys"],
    run(f, d) {
      const c = f.cluster;
      if (c === undefined) return skip(noCluster(f));
      if (!c.jwks.ok) return fail(`cannot read the API server's JWKS: ${c.jwks.error}`, KUBECONFIG_FIX);
      const published = new Set((d.published?.keys ?? []).map((k) => k.kid));
      const clusterKids = parseJwks(c.jwks.value).keys.map((k) => k.kid ?? "(no kid)");
      const signing = d.token?.parsed.header.kid;
      const fix = `publish the cluster's current keys: irsa issuer sync --from kube (it keeps rotated keys for --retain), or irsa jwks --key sa.pub --key old-sa.pub`;
      const notes = [
        `published: ${[...published].map((k) => k ?? "(no kid)").join(", ")}`,
        `cluster:   ${clusterKids.join(", ")}`,
      ];
      if (typeof signing === "string" && !published.has(signing))
        return fail(
          `the key the cluster signs with (kid ${signing}) is not in the published JWKS: STS cannot verify its tokens`,
          fix,
          notes,
        );
      // The signing kid is published by now (or the check failed above), so it is never missing.
      const missing = clusterKids.filter((k) => !published.has(k));
      if (signing === undefined && missing.length > 0)
        return fail(`keys of the cluster missing from the published JWKS: ${missing.join(", ")}`, fix, notes);
      if (missing.length > 0)
        return warn(
          `kid ${String(signing)} is published, but the cluster still accepts keys that are not: ${missing.join(", ")} (tokens they signed fail at STS)`,
          fix,
          notes,
        );
      return pass(
        typeof signing === "string"
          ? `the signing key (kid ${signing}) and every key the cluster accepts are published`
          : `every key the cluster accepts is published`,
      );
    },
  },
  {
    id: "cluster-token",
    group: "cluster",
    title: "a TokenRequest token verifies",
    needs: ["service-account", "cluster-keys"],
    run(f, d) {
      const c = f.cluster;
      if (c?.token === undefined)
        // Stryker disable next-line all: the token is requested whenever the account exists, so without one service-account, which this check needs, was skipped with these words or failed
        return skip(c === undefined ? noCluster(f) : "no --service-account NS/NAME");
      if (!c.token.ok)
        return fail(
          `TokenRequest for ${sa(f)} failed: ${c.token.error}`,
          "give kube-apiserver --service-account-signing-key-file and --service-account-issuer; the --kubeconfig identity needs create on serviceaccounts/token",
        );
      const v = d.tokenVerdict;
      const failed = v?.checks.find(
        (x) =>
          // Stryker disable next-line StringLiteral: doctor's own evaluation takes the token's iss and any audience, and with no role configured the role check fails before the trust policy and the duration
          x.status === "fail" && !["issuer", "audience", "role", "trust-policy", "duration"].includes(x.name),
      );
      // Stryker disable next-line ConditionalExpression,StringLiteral: there is no verdict only without published keys, and then cluster-keys, which this check needs, was skipped or failed
      if (v === undefined) return skip("no published keys to verify with");
      if (failed !== undefined)
        return fail(
          // Stryker disable next-line StringLiteral: a failed STS check always carries its error
          `STS's ${failed.name} check refuses the token: ${failed.reason} (${failed.error?.code ?? ""}: ${failed.error?.message ?? ""})`,
          "publish the keys the cluster signs with (irsa issuer sync --from kube), and check kube-apiserver's clock",
        );
      const claims = d.token?.claims;
      return pass(
        // Stryker disable next-line StringLiteral: the claims are missing only when STS's claims check failed, which fails this check first
        `${String(d.token?.parsed.header.alg)} token for ${claims?.sub ?? "?"}, aud ${JSON.stringify(claims?.aud ?? [])}: signature, expiry and issued-at pass STS's checks with the published keys`,
      );
    },
  },
  {
    id: "cluster-audiences",
    group: "cluster",
    title: "--api-audiences has the audience",
    needs: ["cluster-token"],
    run(f) {
      const r = f.cluster?.review;
      if (r === undefined) return skip("no token to review");
      if (!r.ok)
        return fail(
          `TokenReview failed: ${r.error}`,
          "the --kubeconfig identity needs create on tokenreviews",
        );
      if (r.value.authenticated)
        return pass(`kube-apiserver accepts tokens for ${f.audience} (--api-audiences)`);
      return warn(
        `kube-apiserver does not accept tokens for ${f.audience}${r.value.error === undefined ? "" : ` (${r.value.error})`}: pods' tokens work at STS, but not against the API server`,
        `add ${f.audience} to kube-apiserver's --api-audiences if pods should use one token for both`,
      );
    },
  },
];
