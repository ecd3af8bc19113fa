/**
 * `irsa init` for every distribution: the flags are read back out of the file it writes (in that
 * distribution's format, test/support/distro-flags.ts), kube-apiserver (the harness's, real) starts
 * with exactly those flags, its key paths mapped from the nodes to the output directory, and then
 * serves the init'd issuer's discovery document and JWKS: byte for byte the documents init wrote,
 * or, while migrating from a previous issuer, with the distribution's own key kept beside the new one.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, describe, test } from "node:test";
import { DISTRO_INFO, DISTROS } from "../../src/core/init/distros.js";
import { flagsFromInitOutput, type Flag } from "../support/distro-flags.js";
import { irsa, irsaOk, startKube, stopAll, tempDir } from "./harness/index.js";

after(stopAll);

const OLD_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** The formats that can keep a second issuer: they are tested migrating from the old one. */
const MIGRATING = new Set(["k3s", "rke2", "kubeadm", "kind"]);

const kidOf = async (file: string) => (await irsaOk(["keys", "kid", file])).stdout.trim();

describe("irsa init: kube-apiserver runs with the flags each distribution's file sets", () => {
  for (const distro of DISTROS) {
    test(distro, async () => {
      const dir = await tempDir(`init-${distro}`);
      const out = join(dir, "out");
      const issuer = `https://oidc.example.com/${distro}`;
      const args = ["init", "--distro", distro, "--issuer", issuer, "--out", out];
      // The cluster's own key: kept while migrating, and the only key on EKS Anywhere.
      await irsaOk(["keys", "generate", "--out", join(dir, "own")]);
      const ownKey = join(dir, "own/sa.key");
      const ownPub = join(dir, "own/sa.pub");
      if (MIGRATING.has(distro)) args.push("--previous-issuer", OLD_ISSUER);
      if (distro === "eks-anywhere") args.push("--key", ownPub);
      const r = await irsa(args);
      assert.equal(r.code, 0, r.stderr);

      // Node paths to this machine's: the keys init wrote, and the cluster's own key.
      const flags: Flag[] = flagsFromInitOutput(distro, out).map((f) => {
        if (!f.name.endsWith("key-file")) return f;
        if (f.value === DISTRO_INFO[distro].ownKey) return { ...f, value: ownKey };
        const file = basename(f.value);
        return file === "sa.key" || file === "sa.pub" ? { ...f, value: join(out, "keys", file) } : f;
      });
      if (distro === "eks-anywhere") {
        // EKS Anywhere keeps the cluster's key files and sets the issuer from the spec.
        flags.push({ name: "service-account-signing-key-file", value: ownKey });
        flags.push({ name: "service-account-key-file", value: ownPub });
      }
      assert.equal(
        flags.filter((f) => f.name === "service-account-issuer")[0]?.value,
        issuer,
        "signs with the new issuer",
      );
      const kube = await startKube({ serviceAccountArgs: flags.map((f) => `--${f.name}=${f.value}`) });

      const discovery = await kube.request("/.well-known/openid-configuration");
      assert.equal(discovery.status, 200, discovery.text);
      assert.equal((JSON.parse(discovery.text) as { issuer: string }).issuer, issuer);
      const jwks = await kube.request("/openid/v1/jwks");
      const kids = (JSON.parse(jwks.text) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      const initKid = /^kid (\S+) /m.exec(r.stdout)?.[1] ?? "";
      if (distro === "eks-anywhere") {
        assert.equal(initKid, await kidOf(ownPub), "the documents list the cluster's own key");
        assert.deepEqual(kids, [initKid]);
        return;
      }
      const written = (path: string) => readFileSync(join(out, "issuer", path), "utf8").trimEnd();
      assert.equal(
        discovery.text,
        written(".well-known/openid-configuration"),
        "the document init wrote, byte for byte",
      );
      if (MIGRATING.has(distro)) {
        assert.deepEqual(
          kids,
          [initKid, await kidOf(ownPub)],
          "the new key, and the cluster's own for old tokens",
        );
      } else {
        assert.equal(jwks.text, written("openid/v1/jwks"), "the JWKS init wrote, byte for byte");
      }
      await kube.stop();
    });
  }
});
