/**
 * The irsa CLI against a real kube-apiserver: the discovery document and JWKS it prints are the
 * bytes kube-apiserver serves, and a TokenRequest token verifies against that JWKS with the kid
 * `irsa keys kid` prints. For an RSA and an EC (P-256) service-account key.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  allowAnonymousDiscovery,
  createNamespace,
  createServiceAccount,
  irsaOk,
  requestToken,
  startKube,
  stopAll,
  type Kube,
} from "./harness/index.js";

after(stopAll);

for (const keyType of ["rsa", "ec"] as const) {
  describe(`kube-apiserver with an ${keyType === "rsa" ? "RSA" : "EC P-256"} service-account key`, () => {
    let kube: Kube;
    before(async () => {
      kube = await startKube({ keyType });
    });
    after(async () => {
      await kube.stop();
    });

    test("starts", (t) => {
      t.diagnostic(
        `etcd ready in ${kube.timings.etcdMs} ms, kube-apiserver in ${kube.timings.apiserverMs} ms`,
      );
      assert.equal(kube.issuer, kube.url);
    });

    test("/.well-known/openid-configuration is byte for byte what irsa discovery prints", async () => {
      const served = await kube.request("/.well-known/openid-configuration");
      assert.equal(served.status, 200, served.text);
      const { jwks_uri: jwksUri } = JSON.parse(served.text) as { jwks_uri: string };
      assert.equal(typeof jwksUri, "string");
      const cli = await irsaOk([
        "discovery",
        "--issuer",
        kube.issuer,
        "--jwks-uri",
        jwksUri,
        "--key",
        kube.saPubFile,
      ]);
      assert.ok(cli.stdout.endsWith("}\n"), "one trailing newline");
      assert.deepEqual(Buffer.from(cli.stdout.slice(0, -1), "utf8"), served.body);
    });

    test("/openid/v1/jwks is byte for byte what irsa jwks prints", async () => {
      const served = await kube.request("/openid/v1/jwks");
      assert.equal(served.status, 200, served.text);
      const cli = await irsaOk(["jwks", "--key", kube.saPubFile]);
      assert.ok(cli.stdout.endsWith("}\n"), "one trailing newline");
      assert.deepEqual(Buffer.from(cli.stdout.slice(0, -1), "utf8"), served.body);
      // The private key file gives the same document.
      const fromPrivate = await irsaOk(["jwks", "--key", kube.saKeyFile]);
      assert.equal(fromPrivate.stdout, cli.stdout);
    });

    test("a TokenRequest token verifies against irsa jwks, with the kid irsa keys kid prints", async () => {
      const kc = kube.kubeConfig;
      const ns = await createNamespace(kc);
      await createServiceAccount(kc, ns, "app");
      const { token } = await requestToken(kc, ns, "app", { audiences: ["sts.amazonaws.com"] });

      const jwks = JSON.parse((await irsaOk(["jwks", "--key", kube.saPubFile])).stdout) as JSONWebKeySet;
      const kid = (await irsaOk(["keys", "kid", kube.saPubFile])).stdout.trim();
      const header = decodeProtectedHeader(token);
      assert.equal(header.kid, kid);
      assert.equal(header.alg, keyType === "rsa" ? "RS256" : "ES256");

      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: kube.issuer,
        audience: "sts.amazonaws.com",
      });
      assert.equal(payload.sub, `system:serviceaccount:${ns}:app`);
    });

    test("the discovery documents can be opened anonymously once the issuer-discovery role is bound", async () => {
      const before = await kube.request("/openid/v1/jwks", { anonymous: true });
      assert.equal(before.status, 403, "system:anonymous is forbidden by default");
      await allowAnonymousDiscovery(kube.kubeConfig);
      for (const path of ["/.well-known/openid-configuration", "/openid/v1/jwks"]) {
        let r = await kube.request(path, { anonymous: true });
        // RBAC changes reach the authorizer's cache within a moment.
        for (let i = 0; i < 50 && r.status !== 200; i++) {
          await new Promise((res) => setTimeout(res, 100));
          r = await kube.request(path, { anonymous: true });
        }
        assert.equal(r.status, 200, `${path}: ${r.text}`);
      }
    });
  });
}
