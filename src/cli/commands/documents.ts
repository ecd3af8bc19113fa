import { discoveryDocument } from "../../core/oidc/discovery.js";
import { jwksDocument } from "../../core/oidc/jwks.js";
import type { PublicKeyInfo } from "../../core/oidc/keys.js";
import { checkIssuerUrl, checkJwksUri, defaultJwksUri } from "../../core/oidc/url.js";
import { readKeyFile } from "../../adapters/files.js";
import { requireStr, str, strs, usageError, type Command, type CommandBody } from "../command.js";

async function loadAll(files: string[], cmd: Command): Promise<PublicKeyInfo[]> {
  if (files.length === 0) throw usageError("at least one --key FILE is required", cmd);
  const out: PublicKeyInfo[] = [];
  for (const f of files) for (const k of await readKeyFile(f)) out.push(k.publicKey);
  return out;
}

export const jwks: CommandBody = {
  help: `Usage: irsa jwks --key FILE [--key FILE ...]

Prints the JSON Web Key Set for the keys, in the order given (every key of every file), byte for
byte as kube-apiserver serves it, followed by one newline. Give the current key and every previous
key whose tokens may still be live.

Options:
  --key FILE   PEM key file (private or public), repeatable          required
`,
  options: { key: { type: "string", multiple: true } },
  async run(values, _pos, io) {
    io.out(`${jwksDocument(await loadAll(strs(values, "key"), this))}\n`);
    return 0;
  },
};

export const discovery: CommandBody = {
  help: `Usage: irsa discovery --issuer URL [--jwks-uri URL] --key FILE [--key FILE ...]

Prints the document kube-apiserver serves at /.well-known/openid-configuration, byte for byte,
followed by one newline. The issuer must be https with no query or fragment; it must equal
kube-apiserver's --service-account-issuer exactly (a trailing slash matters to IAM).

Options:
  --issuer URL     the service-account issuer                          required
  --jwks-uri URL   where the JWKS is published            default <issuer>/openid/v1/jwks
  --key FILE       PEM key file, repeatable (sets the algorithm list)  required
`,
  options: {
    issuer: { type: "string" },
    "jwks-uri": { type: "string" },
    key: { type: "string", multiple: true },
  },
  async run(values, _pos, io) {
    const issuer = checkIssuerUrl(requireStr(values, "issuer", this));
    const jwksUri = checkJwksUri(str(values, "jwks-uri") ?? defaultJwksUri(issuer.url));
    const keys = await loadAll(strs(values, "key"), this);
    for (const w of [...issuer.warnings, ...jwksUri.warnings]) io.err(`warning: ${w}\n`);
    io.out(`${discoveryDocument(issuer.url, jwksUri.url, keys)}\n`);
    return 0;
  },
};
