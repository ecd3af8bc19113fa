/**
 * Group 1, the issuer as AWS STS sees it: the URL's form, the discovery document and the JWKS over
 * public HTTPS, their content types, keys and response times, and the certificate's thumbprint. Pure.
 */
import { isIrsaError } from "../errors.js";
import { isObject } from "../json.js";
import { checkIssuerUrl, checkJwksUri, defaultJwksUri } from "../oidc/url.js";
import { DISCOVERY_PATH } from "../oidc/discovery.js";
import { SUPPORTED_ALGORITHMS } from "../sts/token.js";
import { fail, mismatch, pass, skip, warn, type CheckDef, type Outcome } from "./check.js";
import type { DoctorFacts, Fetch } from "./facts.js";

/** Above this, a fetch is worth a warning: AWS does not document STS's timeout for them. */
export const SLOW_FETCH_MS = 2000;
/** A JWKS with more keys than this is reported to break AWS's kid lookup. */
export const MAX_KEYS = 100;

const ANONYMOUS_FIX =
  "AWS STS fetches without credentials: allow anonymous reads (for kube-apiserver as the issuer: kubectl create clusterrolebinding irsa-anonymous-discovery --clusterrole=system:service-account-issuer-discovery --group=system:unauthenticated)";

function fetchFailure(f: DoctorFacts, doc: Fetch & { ok: false }, what: string, publish: string): Outcome {
  const e = doc.error;
  if (e.kind === "tls") {
    return fail(
      `${what}: the certificate is not trusted: ${e.message}`,
      f.caFile === undefined
        ? "serve a certificate from a public CA (AWS STS trusts those); for a private CA give --ca-file, and put the thumbprint on the IAM provider"
        : `serve a certificate that chains to a public CA or to the CA in ${f.caFile}`,
    );
  }
  if (e.kind === "http" && (e.status === 401 || e.status === 403))
    return fail(`${what}: ${e.message}`, ANONYMOUS_FIX);
  return fail(`${what}: ${e.message}`, publish);
}

function timing(ms: number): string {
  return `${Math.round(ms)} ms`;
}

function trustText(f: DoctorFacts, trust: "public" | "ca-file"): string {
  return trust === "public"
    ? "a publicly trusted certificate"
    : `a certificate trusted only through --ca-file ${f.caFile ?? ""} (AWS STS then relies on the provider's thumbprint)`;
}

const publishFix = (issuer: string): string =>
  `publish the documents at ${issuer}: irsa issuer serve, or irsa issuer sync --from kube --public-issuer ${issuer} --to s3://BUCKET/PREFIX`;

export const ISSUER_CHECKS: readonly CheckDef[] = [
  {
    id: "issuer-url",
    group: "issuer",
    title: "issuer URL form",
    needs: [],
    run(f) {
      if (f.issuer === undefined)
        return skip(f.skipped.issuer ?? "no --issuer given and no --kubeconfig to read it from");
      let warnings: readonly string[];
      try {
        warnings = checkIssuerUrl(f.issuer).warnings;
      } catch (e) {
        if (!isIrsaError(e)) throw e;
        return fail(
          `${f.issuer} (${f.issuerSource}): ${e.message}`,
          `${e.hint ?? "fix the URL"}; set the same URL in kube-apiserver's --service-account-issuer and the IAM OIDC provider`,
        );
      }
      if (warnings.length > 0) {
        const slash = f.issuer.endsWith("/");
        return warn(
          `${f.issuer} (${f.issuerSource}): ${warnings.join("; ")}`,
          slash
            ? `use ${f.issuer.replace(/\/+$/, "")} everywhere (kube-apiserver --service-account-issuer, the documents, the IAM provider), or the slash everywhere`
            : "serve the documents on port 443 and drop the port from the issuer",
        );
      }
      return pass(`${f.issuer} (${f.issuerSource}): https, no port, no query, no trailing slash`);
    },
  },
  {
    id: "discovery",
    group: "issuer",
    title: "discovery document reachable",
    needs: ["issuer-url"],
    run(f) {
      const issuer = f.issuer ?? "";
      const d = f.discovery;
      if (d === undefined) return skip(f.skipped.issuer ?? "not fetched");
      const url = `${issuer.replace(/\/$/, "")}${DISCOVERY_PATH}`;
      if (!d.ok) return fetchFailure(f, d, `GET ${url}`, publishFix(issuer));
      const v = d.value;
      let doc: unknown;
      try {
        doc = JSON.parse(v.body) as unknown;
      } catch {
        return fail(`${url} is not JSON (${v.body.slice(0, 60)})`, publishFix(issuer));
      }
      if (!isObject(doc)) return fail(`${url} is JSON but not an object`, publishFix(issuer));
      const seen = `HTTP ${v.status}, ${v.contentType ?? "no Content-Type"}, ${timing(v.elapsedMs)}, ${trustText(f, v.trust)}`;
      if (!(v.contentType ?? "").toLowerCase().startsWith("application/json"))
        return warn(seen, `serve ${url} with Content-Type: application/json`);
      if (v.elapsedMs > SLOW_FETCH_MS)
        return warn(`${seen}: slow`, "serve the documents from a static host or CDN (S3, irsa issuer serve)");
      return pass(seen);
    },
  },
  {
    id: "discovery-issuer",
    group: "issuer",
    title: "discovery issuer equals the URL",
    needs: ["discovery"],
    run(f, d) {
      const issuer = f.issuer ?? "";
      const got = d.discovery?.issuer;
      if (got === issuer) return pass(`"issuer": ${JSON.stringify(got)}, byte for byte`);
      if (typeof got !== "string")
        return fail(
          `the discovery document has no string "issuer" (${JSON.stringify(got ?? null)})`,
          publishFix(issuer),
        );
      return fail(
        `the discovery document says "issuer": ${mismatch(got, issuer)}`,
        `republish it with issuer exactly ${issuer} (irsa discovery --issuer ${issuer} --key sa.pub, or irsa issuer sync --public-issuer ${issuer}), or use ${got} as the issuer everywhere`,
      );
    },
  },
  {
    id: "jwks",
    group: "issuer",
    title: "JWKS reachable",
    needs: ["discovery"],
    run(f, d) {
      const issuer = f.issuer ?? "";
      const uri = d.discovery?.jwks_uri;
      if (typeof uri !== "string")
        return fail(
          `the discovery document has no string "jwks_uri"`,
          `republish it with "jwks_uri": "${defaultJwksUri(issuer)}"`,
        );
      try {
        checkJwksUri(uri, "jwks_uri");
      } catch (e) {
        if (!isIrsaError(e)) throw e;
        return fail(e.message, `${e.hint ?? "fix jwks_uri"}; kube-apiserver: --service-account-jwks-uri`);
      }
      const j = f.jwks;
      if (j === undefined) return skip("not fetched");
      if (!j.ok) return fetchFailure(f, j, `GET ${uri}`, publishFix(issuer));
      const v = j.value;
      const seen = `${uri}: HTTP ${v.status}, ${v.contentType ?? "no Content-Type"}, ${timing(v.elapsedMs)}, ${trustText(f, v.trust)}`;
      const ct = (v.contentType ?? "").toLowerCase();
      if (!ct.startsWith("application/json") && !ct.startsWith("application/jwk-set+json"))
        return warn(seen, `serve ${uri} with Content-Type: application/json`);
      if (v.elapsedMs > SLOW_FETCH_MS)
        return warn(`${seen}: slow`, "serve the documents from a static host or CDN (S3, irsa issuer serve)");
      return pass(seen);
    },
  },
  {
    id: "jwks-keys",
    group: "issuer",
    title: "keys STS can use",
    needs: ["jwks"],
    run(f, d) {
      const set = d.published;
      if (set === undefined) return skip("no JWKS");
      const fix = `republish the JWKS from the cluster's keys: irsa jwks --key sa.pub, or irsa issuer sync --from kube`;
      if (set.keys.length === 0)
        return fail(`no key STS can use: ${set.problems.join("; ") || "the key set is empty"}`, fix);
      const shown = set.keys.map(
        (k) => `${k.kty} ${k.kid ?? "(no kid)"}${k.alg === undefined ? "" : ` ${k.alg}`}`,
      );
      const problems = [...set.problems];
      for (const k of set.keys) {
        if (k.alg !== undefined && !(SUPPORTED_ALGORITHMS as readonly string[]).includes(k.alg))
          problems.push(`kid ${k.kid ?? "none"} has alg ${k.alg}, which STS does not accept`);
        if (k.kid === undefined) problems.push("a key has no kid: STS must try every key");
      }
      if (set.keys.length > MAX_KEYS)
        problems.push(`${set.keys.length} keys: more than ${MAX_KEYS} is reported to break AWS's lookup`);
      const detail = `${set.keys.length} key${set.keys.length === 1 ? "" : "s"}: ${shown.join(", ")}`;
      if (problems.length > 0) return warn(`${detail}; ${problems.join("; ")}`, fix);
      return pass(detail);
    },
  },
  {
    id: "issuer-thumbprint",
    group: "issuer",
    title: "certificate thumbprint",
    needs: ["jwks"],
    run(f) {
      const j = f.jwks;
      if (j === undefined || !j.ok) return skip("no JWKS fetched");
      const t = j.value.thumbprint;
      if (t === undefined) return skip("the server presented no certificate chain to take it from");
      const other = f.discovery?.ok === true ? f.discovery.value.thumbprint : undefined;
      const both = other !== undefined && other !== t ? ` (discovery host: ${other})` : "";
      return pass(
        j.value.trust === "public"
          ? `${t}${both}: not needed, AWS trusts the public CA`
          : `${t}${both}: AWS STS needs it on the IAM provider (private CA)`,
      );
    },
  },
];
