import { parseDocument } from "yaml";
import { IrsaError } from "../../core/errors.js";
import {
  mutatePod,
  parseContainerCredentialsIdentities,
  podServiceAccountName,
  roleArnWarning,
  serviceAccountSettings,
} from "../../core/mutate/index.js";
import { readTextFile } from "../../adapters/files.js";
import { oneOf, OUTPUT_OPTION, requireStr, type CommandBody } from "../command.js";
import { WEBHOOK_FLAG_OPTIONS, webhookConfigFromFlags, webhookFlagsHelp } from "../webhook-flags.js";

/**
 * One YAML or JSON document of `kind` (duplicate keys refused, as kubectl does). Unknown tags such as
 * `!!js/function`, alias bombs and self-referencing aliases are refused with the file named, and a
 * file that is not a mapping (a PEM file, a list) or is of another kind is not taken for a `kind`.
 */
function parseManifest(text: string, file: string, kind: "Pod" | "ServiceAccount"): unknown {
  const refuse = (problem: string): IrsaError =>
    new IrsaError(
      "INPUT_INVALID",
      `cannot read ${kind} file ${file}: ${problem}`,
      `give one ${kind} as YAML or JSON`,
    );
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) throw refuse(problem.message.split("\n")[0] ?? problem.message);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
    JSON.stringify(value); // a self-referencing alias is a cycle no Kubernetes object has
  } catch (e) {
    const message = (e as Error).message;
    throw refuse(
      /circular/i.test(message) ? "an alias refers to itself: no Kubernetes object is a cycle" : message,
    );
  }
  if (value === null || value === undefined) throw refuse("the file is empty");
  if (typeof value !== "object" || Array.isArray(value)) {
    throw refuse(
      `expected a mapping with kind: ${kind}, got ${Array.isArray(value) ? "a list" : `a ${typeof value}`}`,
    );
  }
  const got = (value as { kind?: unknown }).kind;
  if (got !== undefined && got !== kind) throw refuse(`expected kind ${kind}, got ${JSON.stringify(got)}`);
  return value;
}

function metaString(doc: unknown, key: "name" | "namespace"): string | undefined {
  if (typeof doc !== "object" || doc === null) return undefined;
  const meta = (doc as { metadata?: unknown }).metadata;
  if (typeof meta !== "object" || meta === null) return undefined;
  const v = (meta as Record<string, unknown>)[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export const mutate: CommandBody = {
  help: `Usage: irsa mutate --pod FILE --service-account FILE [webhook flags] [-o pod|patch]

Runs the webhook's mutation offline: reads a Pod and the ServiceAccount it runs as (YAML or JSON,
one document each) and prints the mutated Pod as JSON, or the JSON Patch the webhook answers with.
The patch has only targeted "add" operations (one env entry, volume, volumeMount or label each),
and is empty when the Pod already has everything. Pods whose service account has no
<prefix>/role-arn annotation and is not listed for container credentials are left unchanged.

The namespace is the Pod's metadata.namespace, else the ServiceAccount's, else "default". The
ServiceAccount must be the one the Pod names in spec.serviceAccountName (default "default").

Annotations (prefix from --annotation-prefix):
  ServiceAccount  <prefix>/role-arn, <prefix>/audience, <prefix>/sts-regional-endpoints,
                  <prefix>/token-expiration
  Pod             <prefix>/token-expiration (overrides the ServiceAccount's),
                  <prefix>/skip-containers (comma-separated container names to leave alone)

Options:
  --pod FILE               the Pod                                              required
  --service-account FILE   the ServiceAccount the Pod runs as                   required
  -o, --output F           pod (the mutated Pod) or patch (the JSON Patch)      default pod

Webhook flags (upstream's names and defaults; booleans bare or as --flag=true|false):
${webhookFlagsHelp()}`,
  options: {
    pod: { type: "string" },
    "service-account": { type: "string" },
    ...WEBHOOK_FLAG_OPTIONS,
    ...OUTPUT_OPTION,
  },
  async run(values, _pos, io) {
    const podFile = requireStr(values, "pod", this);
    const saFile = requireStr(values, "service-account", this);
    const output = oneOf(values, "output", ["pod", "patch"], "pod", this);
    const config = webhookConfigFromFlags(values, this);

    const pod = parseManifest(await readTextFile(podFile, "pod file"), podFile, "Pod");
    const sa = parseManifest(await readTextFile(saFile, "service account file"), saFile, "ServiceAccount");

    const saName = podServiceAccountName(pod);
    const named = metaString(sa, "name");
    if (named !== undefined && named !== saName) {
      throw new IrsaError(
        "INPUT_INVALID",
        `the Pod runs as service account "${saName}" but ${saFile} is "${named}"`,
        "give the Pod's ServiceAccount, or set the Pod's spec.serviceAccountName",
      );
    }
    const podNs = metaString(pod, "namespace");
    const saNs = metaString(sa, "namespace");
    if (podNs !== undefined && saNs !== undefined && podNs !== saNs) {
      throw new IrsaError(
        "INPUT_INVALID",
        `the Pod is in namespace "${podNs}" but ${saFile} is in "${saNs}"`,
        "give the ServiceAccount from the Pod's namespace",
      );
    }
    const namespace = podNs ?? saNs ?? "default";

    let listed = false;
    const ccFile = config.watchContainerCredentialsConfig;
    if (ccFile !== "") {
      const ids = parseContainerCredentialsIdentities(
        await readTextFile(ccFile, "container credentials config"),
        ccFile,
      );
      listed = ids.has(`${namespace}/${saName}`);
    }

    const settings = serviceAccountSettings(sa, config, { containerCredentials: listed });
    const warning = listed ? undefined : roleArnWarning(settings.roleArn);
    if (warning !== undefined) io.err(`warning: ${warning}\n`);
    const result = mutatePod(pod, settings, config);
    if (result.conflict !== undefined) io.err(`warning: ${result.conflict}\n`);
    if (result.mode === "none") {
      io.err(
        `note: not mutated: service account ${namespace}/${saName} has no ${config.annotationPrefix}/role-arn annotation` +
          ` and is not listed for container credentials\n`,
      );
    }
    io.out(`${JSON.stringify(output === "patch" ? result.patch : result.pod, null, 2)}\n`);
    return 0;
  },
};
