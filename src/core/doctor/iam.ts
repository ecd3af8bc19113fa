/**
 * Group 4, IAM as STS reads it: the OIDC provider for the issuer and its audiences and
 * thumbprints, the account's role, and its trust policy evaluated with the STS's own checks on
 * the cluster's token, naming the statement that decides. Pure.
 */
import { parseRoleArn } from "../sts/arn.js";
import { fail, onlySlashDiffers, pass, skip, type CheckDef } from "./check.js";
import type { DoctorFacts } from "./facts.js";

const noIam = (f: DoctorFacts): string => f.skipped.iam ?? "no AWS credentials and no --endpoint-url";

function awsCli(f: DoctorFacts): string {
  return f.iam?.source.startsWith("http") === true ? ` --endpoint-url ${f.iam.source}` : "";
}

/** The local STS's config file when it stands in for IAM: its fixes are edits of that file. */
const stsConfigFile = (f: DoctorFacts): string | undefined => f.iam?.stsConfigFile;

const reloads = "irsa sts serve reloads it";

/** What to fix when IAM could not be read at all. */
function unreadable(f: DoctorFacts, permission: string): string {
  const file = stsConfigFile(f);
  return file === undefined
    ? `give the caller ${permission}`
    : `make the STS config ${file} load: fix what the error names`;
}

/** The command that prints the trust policy the account needs. */
function trustPolicyCommand(f: DoctorFacts): string {
  // Stryker disable next-line StringLiteral: gatherFacts gathers IAM only with an issuer and a role ARN that parses
  const account = parseRoleArn(f.roleArn ?? "")?.account ?? "ACCOUNT";
  // Stryker disable next-line StringLiteral: gatherFacts gathers IAM only with an issuer and a role ARN that parses
  const issuer = f.issuer ?? "URL";
  return `irsa iam trust-policy --issuer ${issuer} --service-account ${f.serviceAccount?.namespace ?? "NS"}/${f.serviceAccount?.name ?? "NAME"} --audience ${f.audience} --account-id ${account}`;
}

/** How to replace the role's trust policy with the one the account needs: in AWS, or in the STS config. */
function trustPolicyFix(f: DoctorFacts): string {
  const file = stsConfigFile(f);
  if (file === undefined) {
    // Stryker disable next-line StringLiteral: gatherFacts gathers IAM only with an issuer and a role ARN that parses
    const name = parseRoleArn(f.roleArn ?? "")?.name ?? "NAME";
    return `${trustPolicyCommand(f)} > trust.json && aws iam update-assume-role-policy --role-name ${name} --policy-document file://trust.json${awsCli(f)}`;
  }
  const role = f.iam?.role.ok === true ? f.iam.role.value : undefined;
  const own = role?.trustPolicyFile;
  // Stryker disable next-line StringLiteral: the trust policy is evaluated only for a role ARN that parses
  const arn = f.roleArn ?? "";
  return own === undefined
    ? `${trustPolicyCommand(f)}, and put what it prints as the trustPolicy of the role ${arn} in the STS config ${file}; ${reloads}`
    : `${trustPolicyCommand(f)} > ${own} (the trustPolicyFile of the role ${arn} in the STS config ${file}); ${reloads}`;
}

export const IAM_CHECKS: readonly CheckDef[] = [
  {
    id: "iam-provider",
    group: "iam",
    title: "OIDC provider for the issuer",
    needs: ["issuer-url"],
    run(f) {
      const i = f.iam;
      if (i === undefined) return skip(noIam(f));
      if (!i.provider.ok)
        return fail(
          `cannot read ${i.providerArn}: ${i.provider.error}`,
          unreadable(f, "iam:GetOpenIDConnectProvider"),
        );
      if (i.provider.value === undefined) {
        const near =
          i.nearProviderArn !== undefined && onlySlashDiffers(i.nearProviderArn, i.providerArn)
            ? `; ${i.nearProviderArn} exists, but differs only in a trailing slash, and STS compares the token's iss with the provider URL as a string`
            : "";
        const file = stsConfigFile(f);
        // Stryker disable next-line StringLiteral: this check needs issuer-url, which is skipped without an issuer
        const url = f.issuer ?? "";
        return fail(
          `no IAM OIDC provider ${i.providerArn}${near}`,
          file === undefined
            ? `aws iam create-open-id-connect-provider --url ${url} --client-id-list ${f.audience}${awsCli(f)}${near === "" ? "" : " (and delete the other one)"}`
            : `add the provider {"url": "${url}", "clientIds": ["${f.audience}"]} to the providers of the STS config ${file}${near === "" ? "" : " (and remove the other one)"}; ${reloads}`,
        );
      }
      const p = i.provider.value;
      const tps = p.thumbprints === undefined ? "" : `, ${p.thumbprints.length} thumbprint(s)`;
      return pass(`${i.providerArn} (${i.source}): client IDs ${JSON.stringify(p.clientIds)}${tps}`);
    },
  },
  {
    id: "iam-audience",
    group: "iam",
    title: "provider lists the audience",
    needs: ["iam-provider"],
    after: ["service-account"],
    run(f) {
      const p = f.iam?.provider;
      // Stryker disable next-line StringLiteral: this check needs iam-provider, which fails or skips without a provider it could read
      if (p === undefined || !p.ok || p.value === undefined) return skip("no provider");
      if (p.value.clientIds.includes(f.audience)) return pass(`${f.audience} is a client ID of the provider`);
      const file = stsConfigFile(f);
      // Stryker disable next-line StringLiteral: iam-provider passed, so the IAM facts and the issuer are there
      const [providerArn, url] = [f.iam?.providerArn ?? "", f.issuer ?? ""];
      return fail(
        `the provider's client IDs ${JSON.stringify(p.value.clientIds)} lack ${f.audience}, the audience the webhook injects: STS answers "Incorrect token audience"`,
        file === undefined
          ? `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${providerArn} --client-id ${f.audience}${awsCli(f)}`
          : `add "${f.audience}" to the clientIds of the provider ${url} in the STS config ${file}; ${reloads}`,
      );
    },
  },
  {
    id: "iam-thumbprint",
    group: "iam",
    title: "provider thumbprint",
    needs: ["iam-provider", "issuer-thumbprint"],
    run(f) {
      const p = f.iam?.provider;
      // Stryker disable next-line StringLiteral: this check needs iam-provider, which fails or skips without a provider it could read
      if (p === undefined || !p.ok || p.value === undefined) return skip("no provider");
      const j = f.jwks?.ok === true ? f.jwks.value : undefined;
      // Stryker disable next-line StringLiteral: this check needs issuer-thumbprint, which skips in exactly that case
      if (j?.thumbprint === undefined) return skip("no thumbprint of the JWKS host");
      if (j.trust === "public")
        return pass("the JWKS host's certificate chains to a public CA: AWS does not use thumbprints");
      // Stryker disable next-line StringLiteral: iam-provider passed, so the IAM facts and the issuer are there
      const [providerArn, source] = [f.iam?.providerArn ?? "", f.iam?.source ?? ""];
      if (p.value.thumbprints === undefined)
        return skip(`${source} trusts the provider's caFile, not thumbprints`);
      const have = p.value.thumbprints.map((t) => t.toLowerCase());
      if (have.includes(j.thumbprint)) return pass(`${j.thumbprint} is among the provider's thumbprints`);
      return fail(
        `the JWKS host's certificate chains to a private CA, and its thumbprint ${j.thumbprint} is not among the provider's ${JSON.stringify(have)}: STS cannot fetch the keys`,
        `aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn ${providerArn} --thumbprint-list ${[...have, j.thumbprint].slice(-5).join(" ")}${awsCli(f)}`,
      );
    },
  },
  {
    id: "iam-role",
    group: "iam",
    title: "the account's role exists",
    // Stryker disable next-line ArrayDeclaration: a prerequisite that names no check is never failed or skipped
    needs: [],
    after: ["service-account"],
    run(f) {
      const i = f.iam;
      if (i === undefined) return skip(noIam(f));
      if (f.roleArn === undefined) return skip("no role: no --role-arn and no annotation");
      if (!i.role.ok) return fail(`cannot read ${f.roleArn}: ${i.role.error}`, unreadable(f, "iam:GetRole"));
      if (i.role.value === undefined) {
        // Stryker disable next-line StringLiteral: gatherFacts gathers IAM only with an issuer and a role ARN that parses
        const name = parseRoleArn(f.roleArn)?.name ?? "NAME";
        const file = stsConfigFile(f);
        return fail(
          `no role ${f.roleArn}`,
          file === undefined
            ? `${trustPolicyCommand(f)} > trust.json && aws iam create-role --role-name ${name} --assume-role-policy-document file://trust.json${awsCli(f)}`
            : `${trustPolicyCommand(f)} > trust.json, then add the role {"arn": "${f.roleArn}", "trustPolicyFile": "trust.json"} to the roles of the STS config ${file} (a relative trustPolicyFile is read from the config's directory); ${reloads}`,
        );
      }
      return pass(`${i.role.value.arn}, sessions up to ${i.role.value.maxSessionDuration ?? 3600} s`);
    },
  },
  {
    id: "iam-trust-policy",
    group: "iam",
    title: "trust policy admits the account",
    needs: ["iam-role", "iam-audience", "cluster-issuer", "cluster-token"],
    run(f, d) {
      if (d.policyError !== undefined)
        return fail(
          `the role's trust policy is not one STS can evaluate: ${d.policyError}`,
          "fix the trust policy document (irsa iam trust-policy prints a least-privilege one)",
        );
      const v = d.iamVerdict;
      if (v === undefined)
        // Stryker disable next-line all: this check runs only after iam-role, iam-audience, cluster-issuer and cluster-token passed, so every input of the verdict is there
        return skip(f.iam === undefined ? noIam(f) : "no token or no role to evaluate");
      const statements = (v.decision?.statements ?? []).map(
        (s) => `${s.name} (${s.effect}): ${s.applies ? "applies" : "does not apply"}: ${s.reason}`,
      );
      const fix = trustPolicyFix(f);
      // Stryker disable next-line StringLiteral: STS's claims check passed, so sub was read
      const who = d.token?.claims?.sub ?? "the token";
      // Stryker disable next-line StringLiteral: an allowed verdict carries its decision
      const allowed = v.decision?.reason ?? "";
      if (v.ok) return pass(`STS would allow ${who}: ${allowed}`, statements);
      const c = v.failed;
      if (c?.name === "trust-policy")
        return fail(`STS would deny ${who} (AccessDenied): ${c.reason}`, fix, statements);
      // Stryker disable next-line StringLiteral: checkWebIdentity refuses only through Run.fail, which sets the failed check and its error
      const [name, reason, code] = [c?.name ?? "?", c?.reason ?? "", c?.error?.code ?? ""];
      return fail(`STS's ${name} check refuses the token: ${reason} (${code})`, fix, statements);
    },
  },
];
