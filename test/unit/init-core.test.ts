/**
 * `irsa init`'s renderers (src/core/init): the flags in order, what each format refuses, and every
 * distribution's files and steps pinned byte for byte by test/fixtures/init/<distro>/ (rendered
 * with kubernetes/kubernetes's published test key, issuer https://oidc.example.com/cluster-1 and
 * output directory /srv/irsa; the formats that can keep a second issuer migrate from
 * https://kubernetes.default.svc.cluster.local). Whether kube-apiserver runs with what the files
 * say is the e2e tier's (test/e2e/init.test.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import { DISTRO_INFO, DISTROS, renderInit, shQuote, type Distro } from "../../src/core/init/distros.js";
import { apiServerFlags, checkIssuers, flagArgs } from "../../src/core/init/flags.js";
import { FIXTURES, KUBERNETES_VECTORS } from "../support/paths.js";

const KEY = readFileSync(join(KUBERNETES_VECTORS, "k8s-rsa-2048.key.pem"), "utf8");
const ISSUER = "https://oidc.example.com/cluster-1";
const OLD = "https://kubernetes.default.svc.cluster.local";
const MIGRATING: readonly Distro[] = ["k3s", "rke2", "kubeadm", "kind"];

const request = (distro: Distro, previousIssuers: readonly string[] = []) => ({
  distro,
  issuer: ISSUER,
  previousIssuers,
  outDir: "/srv/irsa",
  signingKeyPem: KEY,
});

const code = (c: string, pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof IrsaError, String(e));
  assert.equal(e.code, c);
  assert.match(e.message, pattern);
  assert.ok((e.hint ?? "") !== "", "says how to fix it");
  return true;
};

describe("init flags", () => {
  it("puts the new issuer first, then the previous ones, the JWKS URI, the signing key and the verify keys", () => {
    assert.deepEqual(
      flagArgs(
        apiServerFlags({
          issuer: "https://x.example/c/",
          previousIssuers: ["https://a.example", "https://b.example"],
          signingKeyFile: "/k/sa.key",
          verifyKeyFiles: ["/k/sa.pub", "/old.pub"],
        }),
      ),
      [
        "--service-account-issuer=https://x.example/c/",
        "--service-account-issuer=https://a.example",
        "--service-account-issuer=https://b.example",
        "--service-account-jwks-uri=https://x.example/c/openid/v1/jwks",
        "--service-account-signing-key-file=/k/sa.key",
        "--service-account-key-file=/k/sa.pub",
        "--service-account-key-file=/old.pub",
      ],
    );
  });

  it("sets no key flags when the distribution keeps its own key", () => {
    const flags = apiServerFlags({
      issuer: ISSUER,
      previousIssuers: [],
      signingKeyFile: undefined,
      verifyKeyFiles: [],
    });
    assert.deepEqual(
      flags.map((f) => f.name),
      ["service-account-issuer", "service-account-jwks-uri"],
    );
  });

  const refused: [string, string, string[], string, RegExp][] = [
    ["an http issuer", "http://x.example", [], "URL_NOT_HTTPS", /https/],
    ["an issuer with a query", "https://x.example/?a=1", [], "URL_HAS_QUERY", /query/],
    ["an http previous issuer", ISSUER, ["http://old"], "URL_NOT_HTTPS", /https/],
    ["a previous issuer equal to the new one", ISSUER, [ISSUER], "USAGE", /given twice, or equals --issuer/],
    ["a previous issuer given twice", ISSUER, [OLD, OLD], "USAGE", /given twice/],
  ];
  for (const [name, issuer, previous, c, pattern] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => checkIssuers(issuer, previous), code(c, pattern));
    });
  }

  it("the repeated-issuer refusal says which issuer to give where", () => {
    assert.throws(
      () => checkIssuers(ISSUER, [OLD, ISSUER]),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.describe() ===
          `--previous-issuer "${ISSUER}" is given twice, or equals --issuer\n  hint: give the cluster's current issuer (kubectl get --raw /.well-known/openid-configuration) once, and the new one as --issuer`,
    );
    assert.deepEqual(checkIssuers(ISSUER, [OLD, "https://b.example"]), []);
  });

  it("a previous issuer's refusal names --previous-issuer", () => {
    assert.throws(
      () => checkIssuers(ISSUER, [""]),
      (e: unknown) => e instanceof IrsaError && e.hint === "pass an https URL with --previous-issuer",
    );
  });

  it("the JWKS URI drops every trailing slash of the issuer", () => {
    const flags = apiServerFlags({
      issuer: "https://x.example//",
      previousIssuers: [],
      signingKeyFile: undefined,
      verifyKeyFiles: [],
    });
    assert.equal(flags[1]?.value, "https://x.example/openid/v1/jwks");
  });

  it("warns about a trailing slash or a port, for the new and the previous issuers", () => {
    const w = checkIssuers("https://x.example/", ["https://old.example:8443"]);
    assert.equal(w.length, 2);
    assert.match(w[0] ?? "", /ends with "\/"/);
    assert.match(w[1] ?? "", /^previous issuer URL .* has a port/);
  });
});

describe("init renderers", () => {
  for (const distro of DISTROS) {
    it(`${distro}: the files and steps pinned in test/fixtures/init/${distro}`, () => {
      const plan = renderInit(request(distro, MIGRATING.includes(distro) ? [OLD] : []));
      const dir = join(FIXTURES, "init", distro);
      const pinned = readdirSync(dir).filter((f) => f !== "steps.txt");
      assert.deepEqual(plan.files.map((f) => f.path).sort(), pinned.sort());
      for (const f of plan.files) assert.equal(f.content, readFileSync(join(dir, f.path), "utf8"), f.path);
      assert.equal(`${plan.steps.join("\n")}\n`, readFileSync(join(dir, "steps.txt"), "utf8"));
    });
  }

  it("keeps the distribution's own key for old tokens only while migrating", () => {
    const without = renderInit(request("kubeadm")).flags.filter((f) => f.name === "service-account-key-file");
    assert.deepEqual(
      without.map((f) => f.value),
      ["/etc/kubernetes/pki/irsa/sa.pub"],
    );
    const migrating = renderInit(request("kubeadm", [OLD])).flags.filter(
      (f) => f.name === "service-account-key-file",
    );
    assert.deepEqual(
      migrating.map((f) => f.value),
      ["/etc/kubernetes/pki/irsa/sa.pub", "/etc/kubernetes/pki/sa.pub"],
    );
  });

  for (const distro of DISTROS.filter((d) => !MIGRATING.includes(d))) {
    it(`${distro}: refuses --previous-issuer, saying why its format cannot keep it`, () => {
      assert.ok(DISTRO_INFO[distro].oneIssuer !== undefined);
      assert.throws(
        () => renderInit(request(distro, [OLD])),
        code("USAGE", new RegExp(`cannot be kept on ${DISTRO_INFO[distro].title}: .*one`)),
      );
    });
  }

  it("keeps secrets private: only Talos's patch holds the key, and it is mode 0600", () => {
    for (const distro of DISTROS) {
      for (const f of renderInit(request(distro)).files) {
        const holdsKey = f.content.includes(Buffer.from(KEY).toString("base64").slice(0, 40));
        assert.equal(holdsKey, distro === "talos", `${distro} ${f.path}`);
        assert.equal(f.mode & 0o077, holdsKey ? 0 : f.mode & 0o077);
      }
    }
    assert.equal(renderInit(request("talos")).files[0]?.mode, 0o600);
  });

  it("Talos without a private key is refused", () => {
    assert.throws(
      () => renderInit({ ...request("talos"), signingKeyPem: undefined }),
      code("KEY_NOT_FOUND", /Talos takes the signing key itself/),
    );
  });

  it("refuses an issuer with characters the shell and YAML formats could not carry as one word", () => {
    for (const bad of ["https://x.example/a b", 'https://x.example/"', "https://x.example/é"]) {
      assert.throws(
        () => renderInit({ ...request("charmed"), issuer: bad }),
        code("URL_INVALID", /characters a URL may not/),
      );
    }
  });

  it("each distribution's flags: the key flags only where its nodes keep the keys, Talos's key inline", () => {
    const names = (d: Distro) => renderInit(request(d)).flags.map((f) => `${f.name}=${f.value}`);
    const issuerFlags = [
      `service-account-issuer=${ISSUER}`,
      `service-account-jwks-uri=${ISSUER}/openid/v1/jwks`,
    ];
    assert.deepEqual(names("eks-anywhere"), [`service-account-issuer=${ISSUER}`]);
    assert.deepEqual(names("talos"), issuerFlags);
    assert.deepEqual(names("charmed"), [
      ...issuerFlags,
      "service-account-signing-key-file=/root/cdk/irsa/sa.key",
      "service-account-key-file=/root/cdk/irsa/sa.pub",
    ]);
    assert.deepEqual(
      renderInit(request("k3s", [OLD]))
        .flags.slice(-2)
        .map((f) => f.value),
      ["/var/lib/rancher/k3s/server/irsa/sa.pub", "/var/lib/rancher/k3s/server/tls/service.key"],
    );
  });

  it("kind mounts <output directory>/keys, trailing slashes of the directory dropped", () => {
    const plain = renderInit(request("kind")).files[0]?.content;
    assert.match(plain ?? "", /hostPath: \/srv\/irsa\/keys\n/);
    assert.equal(renderInit({ ...request("kind"), outDir: "/srv/irsa//" }).files[0]?.content, plain);
  });

  it("takes every character RFC 3986 allows in an issuer, and checks the previous issuers too", () => {
    const issuer = "https://x.example/A-Z_a.z~0:9/?q=1&r=2;s#f[0]@!$'()*+,%20";
    assert.equal(renderInit({ ...request("k3s"), issuer }).flags[0]?.value, issuer);
    for (const bad of ["https://x.example/a\tb", "https://x.example/<a>", "https://x.example/a\\b"]) {
      assert.throws(
        () => renderInit({ ...request("k3s"), issuer: bad }),
        code("URL_INVALID", /characters a URL may not/),
      );
    }
    assert.throws(
      () => renderInit(request("k3s", ["https://old example"])),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.describe() ===
          '"https://old example" holds characters a URL may not (white space, quotes, non-ASCII)\n  hint: percent-encode them, or choose an issuer URL made of plain ASCII',
    );
  });

  it("the refusals' hints say what to do instead", () => {
    assert.throws(
      () => renderInit(request("minikube", [OLD])),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.describe() ===
          "--previous-issuer cannot be kept on minikube: minikube's --extra-config keeps one value per API-server flag\n  hint: leave --previous-issuer out (tokens with the old issuer stop working once kube-apiserver restarts; pods get new ones within an hour)",
    );
    assert.throws(
      () => renderInit({ ...request("talos"), signingKeyPem: undefined }),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.hint === "give the private key with --key, or leave --key out to generate one",
    );
  });

  it("quotes shell words only when needed, and quotes single quotes", () => {
    assert.equal(
      shQuote("apiserver.service-account-issuer=https://x.example/c1"),
      "apiserver.service-account-issuer=https://x.example/c1",
    );
    assert.equal(shQuote("AZaz09-._~:/=,@%+"), "AZaz09-._~:/=,@%+");
    for (const w of ["", "a*", "a;b", "a\\b", "a#b", "a?b", "a!b"]) assert.equal(shQuote(w), `'${w}'`);
    assert.equal(shQuote("a b"), "'a b'");
    assert.equal(shQuote("it's"), "'it'\\''s'");
    assert.equal(shQuote("$HOME&x"), "'$HOME&x'");
  });
});
