import { generateKeyPairSync } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { IrsaError } from "../../core/errors.js";
import { parseKeysPem } from "../../core/oidc/keys.js";
import { exists, readKeyFile, writeFileAtomic } from "../../adapters/files.js";
import { oneOf, OUTPUT_OPTION, requireStr, usageError, type CommandBody } from "../command.js";

const RSA_BITS = ["2048", "3072", "4096"] as const;
const CURVES = ["P-256", "P-384"] as const;
const NODE_CURVE: Record<(typeof CURVES)[number], string> = { "P-256": "prime256v1", "P-384": "secp384r1" };

export const keysGenerate: CommandBody = {
  help: `Usage: irsa keys generate --out DIR [--type rsa|ec] [--bits 2048|3072|4096] [--curve P-256|P-384] [--force]

Writes DIR/sa.key (private key, mode 0600) and DIR/sa.pub (public key, SPKI PEM) for
kube-apiserver's --service-account-signing-key-file and --service-account-key-file.
Both files are written atomically; existing files are kept unless --force is given.

Options:
  --out DIR        directory to write into (created if missing)      required
  --type rsa|ec    key type                                          default rsa
  --bits N         RSA modulus size: 2048, 3072 or 4096              default 2048
  --curve C        EC curve: P-256 (ES256) or P-384 (ES384)          default P-256
  --force          replace existing sa.key and sa.pub
  -o, --output F   text or json                                      default text
`,
  options: {
    out: { type: "string" },
    type: { type: "string" },
    bits: { type: "string" },
    curve: { type: "string" },
    force: { type: "boolean" },
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const out = requireStr(values, "out", this);
    const type = oneOf(values, "type", ["rsa", "ec"], "rsa", this);
    const bits = oneOf(values, "bits", RSA_BITS, "2048", this);
    const curve = oneOf(values, "curve", CURVES, "P-256", this);
    const output = oneOf(values, "output", ["text", "json"], "text", this);
    if (type === "ec" && values.bits !== undefined)
      throw usageError("--bits applies to --type rsa only", this);
    if (type === "rsa" && values.curve !== undefined)
      throw usageError("--curve applies to --type ec only", this);
    const keyPath = join(out, "sa.key");
    const pubPath = join(out, "sa.pub");
    if (values.force !== true) {
      for (const p of [keyPath, pubPath]) {
        if (await exists(p)) {
          throw new IrsaError(
            "FILE_EXISTS",
            `${p} already exists; not overwriting a signing key that live tokens may depend on`,
            "pass --force to replace it, or choose another --out directory",
          );
        }
      }
    }
    const pair =
      type === "rsa"
        ? generateKeyPairSync("rsa", { modulusLength: Number(bits) })
        : generateKeyPairSync("ec", { namedCurve: NODE_CURVE[curve] });
    const privatePem = pair.privateKey
      .export({ type: type === "rsa" ? "pkcs1" : "sec1", format: "pem" })
      .toString();
    const publicPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    await mkdir(out, { recursive: true });
    await writeFileAtomic(keyPath, privatePem, 0o600);
    await writeFileAtomic(pubPath, publicPem, 0o644);
    const [loaded] = parseKeysPem(publicPem, pubPath);
    const info = loaded?.publicKey;
    if (output === "json") {
      io.out(
        `${JSON.stringify({ privateKey: keyPath, publicKey: pubPath, kid: info?.kid, alg: info?.alg })}\n`,
      );
    } else {
      io.out(`wrote ${keyPath} (mode 0600) and ${pubPath}\nkid ${info?.kid ?? ""} alg ${info?.alg ?? ""}\n`);
    }
    return 0;
  },
};

export const keysKid: CommandBody = {
  help: `Usage: irsa keys kid FILE [-o text|json]

Prints the kid of every key in FILE (PEM; private keys give their public half), one per line:
base64url without padding of SHA-256 over the DER SubjectPublicKeyInfo, as kube-apiserver computes it.

Options:
  -o, --output F   text (one kid per line) or json                   default text
`,
  options: { ...OUTPUT_OPTION },
  positionals: { min: 1, max: 1, name: "FILE" },
  async run(values, [file = ""], io) {
    const output = oneOf(values, "output", ["text", "json"], "text", this);
    const keys = await readKeyFile(file);
    if (output === "json") {
      const rows = keys.map((k) => ({
        kid: k.publicKey.kid,
        alg: k.publicKey.alg,
        source: k.publicKey.source,
      }));
      io.out(`${JSON.stringify({ keys: rows })}\n`);
    } else {
      io.out(keys.map((k) => `${k.publicKey.kid}\n`).join(""));
    }
    return 0;
  },
};
