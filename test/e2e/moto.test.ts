/** moto and the AWS CLI are wired: the CLI creates an IAM OIDC provider on moto and reads it back. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { aws, startMoto, stopAll, type Moto } from "./harness/index.js";

let moto: Moto;
before(async () => {
  moto = await startMoto();
});
after(stopAll);

interface OidcProvider {
  Url: string;
  ClientIDList: string[];
  ThumbprintList: string[];
}

test("the AWS CLI creates an IAM OIDC provider on moto and reads it back", async (t) => {
  t.diagnostic(`moto ready in ${moto.startMs} ms`);
  const created = await aws(
    [
      "iam",
      "create-open-id-connect-provider",
      "--url",
      "https://oidc.example.com/cluster-1",
      "--client-id-list",
      "sts.amazonaws.com",
      "--thumbprint-list",
      "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    ],
    { endpoint: moto.endpoint },
  );
  assert.equal(created.code, 0, created.stderr);
  const { OpenIDConnectProviderArn: arn } = created.json() as { OpenIDConnectProviderArn: string };
  assert.match(arn, /^arn:aws:iam::\d{12}:oidc-provider\/oidc\.example\.com\/cluster-1$/);

  const got = await aws(["iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn], {
    endpoint: moto.endpoint,
  });
  assert.equal(got.code, 0, got.stderr);
  const provider = got.json() as OidcProvider;
  assert.equal(provider.Url, "oidc.example.com/cluster-1");
  assert.deepEqual(provider.ClientIDList, ["sts.amazonaws.com"]);
  assert.deepEqual(provider.ThumbprintList, ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]);

  const listed = await aws(["iam", "list-open-id-connect-providers"], { endpoint: moto.endpoint });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(listed.json(), { OpenIDConnectProviderList: [{ Arn: arn }] });
});
