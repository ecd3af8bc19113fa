/**
 * `irsa init`: a cluster's IRSA setup for one distribution: the signing key (generated, or the one
 * given), the issuer's two documents, and the API-server settings in the distribution's own
 * format (src/core/init), written all at once into --out.
 */
import { generateKeyPairSync } from "node:crypto";
import { join, resolve } from "node:path";
import { exists, readKeyFile, writeFilesAtomic, type FileToWrite } from "../../adapters/files.js";
import { IrsaError } from "../../core/errors.js";
import { checkIssuers, flagArgs } from "../../core/init/flags.js";
import { DISTRO_INFO, DISTROS, renderInit, type Distro } from "../../core/init/distros.js";
import { discoveryDocument, DISCOVERY_PATH, JWKS_PATH } from "../../core/oidc/discovery.js";
import { jwksDocument } from "../../core/oidc/jwks.js";
import { parseKeysPem } from "../../core/oidc/keys.js";
import { defaultJwksUri } from "../../core/oidc/url.js";
import { oneOf, requireStr, str, strs, usageError, type CommandBody } from "../command.js";

export const init: CommandBody = {
  help: `Usage: irsa init --distro NAME --issuer URL --out DIR [--key FILE] [--previous-issuer URL ...] [--force]

Writes into DIR everything a cluster needs to issue IRSA tokens:
  keys/sa.key, keys/sa.pub     the service-account signing key pair (generated, or from --key)
  issuer/.well-known/openid-configuration, issuer/openid/v1/jwks
                               the two documents to publish at the issuer URL
  the API-server settings in the distribution's own format:
    k3s           k3s-irsa.yaml            a /etc/rancher/k3s/config.yaml.d drop-in (kube-apiserver-arg)
    rke2          rke2-irsa.yaml           a /etc/rancher/rke2/config.yaml.d drop-in (kube-apiserver-arg)
    kubeadm       kubeadm-patch.yaml       ClusterConfiguration apiServer.extraArgs (v1beta4)
    kind          kind-cluster.yaml        a kind cluster config (keys mounted, kubeadm patch)
    minikube      minikube.sh              minikube cp of the keys, minikube start --extra-config
    talos         talos-patch.yaml         a machine config patch (key inline; mode 0600)
    eks-anywhere  eks-anywhere-cluster.yaml  spec.podIamConfig.serviceAccountIssuer
    charmed       charmed.sh               juju scp of the keys, juju config api-extra-args
then prints the flags and the steps that apply them, the restart included. Every file is written
atomically, and only once all of them are ready. An existing keys/sa.key is never replaced
without --force.

With --previous-issuer (the cluster's current issuer: kubectl get --raw
/.well-known/openid-configuration), kube-apiserver keeps accepting tokens of the old issuer, and
of the distribution's own key, while pods move to the new one (k3s, rke2, kubeadm, kind; the other
formats hold one issuer and refuse it).

Options:
  --distro NAME            ${DISTROS.join(", ")}          required
  --issuer URL             the new service-account issuer (https)                   required
  --out DIR                directory to write into (created if missing)             required
  --key FILE               use this key (PEM) instead of generating an RSA 2048 one; eks-anywhere
                           takes the cluster's own sa.pub
  --previous-issuer URL    an issuer whose tokens stay valid, repeatable
  --force                  replace an existing keys/sa.key and keys/sa.pub
`,
  options: {
    distro: { type: "string" },
    issuer: { type: "string" },
    out: { type: "string" },
    key: { type: "string" },
    "previous-issuer": { type: "string", multiple: true },
    force: { type: "boolean" },
  },
  async run(values, _pos, io) {
    if (str(values, "distro") === undefined)
      throw usageError(`--distro is required: one of ${DISTROS.join(", ")}`, this);
    const distro = oneOf<Distro>(values, "distro", DISTROS, "k3s", this);
    const issuer = requireStr(values, "issuer", this);
    const outDir = resolve(requireStr(values, "out", this));
    const previousIssuers = strs(values, "previous-issuer");
    const warnings = checkIssuers(issuer, previousIssuers);

    // The key: the one given (private, or for EKS Anywhere the cluster's public key), or a new one.
    let privatePem: string | undefined;
    let publicPem: string;
    const keyFile = str(values, "key");
    if (keyFile !== undefined) {
      const keys = await readKeyFile(keyFile);
      const [first] = keys;
      if (first === undefined || keys.length !== 1) {
        throw new IrsaError(
          "KEY_PEM_INVALID",
          `${keyFile} holds ${keys.length} keys; --key takes one`,
          "give a file with the one signing key",
        );
      }
      privatePem = first.privateKey?.export({ type: "pkcs8", format: "pem" }).toString();
      publicPem = first.publicKey.key.export({ type: "spki", format: "pem" }).toString();
      if (privatePem === undefined && distro !== "eks-anywhere") {
        throw new IrsaError(
          "KEY_NOT_FOUND",
          `${keyFile} holds a public key, but ${DISTRO_INFO[distro].title}'s kube-apiserver needs the private key to sign tokens`,
          "give the private key (sa.key) with --key, or leave --key out to generate one",
        );
      }
    } else {
      if (distro === "eks-anywhere") {
        throw usageError(
          "--distro eks-anywhere needs --key: the cluster's own /etc/kubernetes/pki/sa.pub (EKS Anywhere keeps its key)",
          this,
        );
      }
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      privatePem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
      publicPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    }
    const [loaded] = parseKeysPem(publicPem, keyFile ?? "the new key");
    if (loaded === undefined) throw new IrsaError("KEY_NOT_FOUND", "no public key", "give a key with --key");

    const plan = renderInit({ distro, issuer, previousIssuers, outDir, signingKeyPem: privatePem });
    const files: FileToWrite[] = [
      ...(privatePem === undefined
        ? []
        : [{ path: join(outDir, "keys/sa.key"), data: privatePem, mode: 0o600 }]),
      { path: join(outDir, "keys/sa.pub"), data: publicPem, mode: 0o644 },
      {
        path: join(outDir, "issuer", DISCOVERY_PATH),
        data: `${discoveryDocument(issuer, defaultJwksUri(issuer), [loaded.publicKey])}\n`,
        mode: 0o644,
      },
      { path: join(outDir, "issuer", JWKS_PATH), data: `${jwksDocument([loaded.publicKey])}\n`, mode: 0o644 },
      ...plan.files.map((f) => ({ path: join(outDir, f.path), data: f.content, mode: f.mode })),
    ];
    if (values.force !== true) {
      for (const f of files.filter((x) => x.path.includes("/keys/"))) {
        if (await exists(f.path)) {
          throw new IrsaError(
            "FILE_EXISTS",
            `${f.path} already exists; not overwriting a signing key that live tokens may depend on`,
            "pass --force to replace it, --key to use it, or choose another --out directory",
          );
        }
      }
    }
    await writeFilesAtomic(files);

    for (const w of warnings) io.err(`warning: ${w}\n`);
    io.out(
      `wrote ${outDir} for ${DISTRO_INFO[distro].title}:\n${files.map((f) => `  ${f.path.slice(outDir.length + 1)}\n`).join("")}` +
        `kid ${loaded.publicKey.kid} alg ${loaded.publicKey.alg}\n\nkube-apiserver flags:\n${flagArgs(
          plan.flags,
        )
          .map((a) => `  ${a}\n`)
          .join("")}\nNext, from ${outDir}:\n${plan.steps.map((s, i) => `  ${i + 1}. ${s}\n`).join("")}` +
        `  ${plan.steps.length + 1}. publish issuer/.well-known/openid-configuration and issuer/openid/v1/jwks at ${issuer} ` +
        `(irsa issuer sync, or any HTTPS host), then create the IAM OIDC provider for it\n`,
    );
    return 0;
  },
};
