/** Group 5, the exchange itself: AssumeRoleWithWebIdentity at the STS, then GetCallerIdentity. Pure. */
import { fail, pass, skip, type CheckDef } from "./check.js";

export const EXCHANGE_CHECKS: readonly CheckDef[] = [
  {
    id: "sts-exchange",
    group: "exchange",
    title: "AssumeRoleWithWebIdentity",
    // Every check before it: the exchange is the sum of the links, reported only when none broke.
    needs: [],
    after: ["*"],
    run(f) {
      const x = f.exchange;
      if (x === undefined) return skip(f.skipped.exchange ?? "no --sts-endpoint and no token");
      if (!x.assumed.ok)
        return fail(
          `STS at ${x.endpoint} refused the token: ${x.assumed.error}`,
          "every check above passed: compare the STS's own answer (for the local STS: irsa sts check --config FILE --token FILE --role-arn ARN)",
        );
      return pass(
        `${x.endpoint}: ${x.assumed.value.assumedRoleArn}, credentials until ${x.assumed.value.expiration}`,
      );
    },
  },
  {
    id: "sts-caller-identity",
    group: "exchange",
    title: "GetCallerIdentity with the credentials",
    needs: ["sts-exchange"],
    run(f) {
      const c = f.exchange?.caller;
      if (c === undefined) return skip("no credentials");
      if (!c.ok)
        return fail(
          `GetCallerIdentity failed: ${c.error}`,
          `check the STS endpoint ${f.exchange?.endpoint ?? ""}`,
        );
      return pass(`${c.value.arn} (account ${c.value.account})`);
    },
  },
];
