/**
 * `irsa credentials`: a web identity token exchanged for credentials, printed as credential_process
 * JSON (Version 1), for tools that cannot do web identity themselves. The answer is cached on disk
 * (mode 0600) until shortly before it expires.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { readTextFile, writeFileAtomic } from "../adapters/files.js";
import { exchangeWebIdentity } from "../adapters/aws/web-identity.js";

export interface CredentialsOptions {
  readonly roleArn: string;
  readonly tokenFile: string;
  readonly stsEndpoint: string | undefined;
  readonly region: string;
  readonly sessionName: string;
  readonly durationSeconds: number | undefined;
  /** undefined: $XDG_CACHE_HOME or ~/.cache, then irsa-anywhere/credentials. */
  readonly cacheDir: string | undefined;
  readonly noCache: boolean;
  readonly now?: () => number;
}

export interface ProcessCredentials {
  readonly Version: 1;
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly SessionToken: string;
  readonly Expiration: string;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "irsa-anywhere", "credentials");
}

/**
 * How long before expiry cached credentials are no longer handed out: botocore refreshes
 * credential_process credentials 15 minutes before they expire (the JS SDK 5), so cached ones must
 * have more left than that, or every call would run the process again. Short sessions: half.
 */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(16 * 60_000, lifetimeMs / 2);
}

function isFresh(c: unknown, nowMs: number): c is ProcessCredentials & { IssuedAt: string } {
  if (typeof c !== "object" || c === null) return false;
  const o = c as Record<string, unknown>;
  if (o.Version !== 1 || typeof o.AccessKeyId !== "string" || typeof o.SecretAccessKey !== "string")
    return false;
  if (
    typeof o.SessionToken !== "string" ||
    typeof o.Expiration !== "string" ||
    typeof o.IssuedAt !== "string"
  )
    return false;
  const exp = Date.parse(o.Expiration);
  const issued = Date.parse(o.IssuedAt);
  if (!Number.isFinite(exp) || !Number.isFinite(issued)) return false;
  return exp - nowMs > refreshMarginMs(exp - issued);
}

/** The credential_process JSON (one line), from the cache when fresh. */
export async function runCredentials(o: CredentialsOptions): Promise<string> {
  const now = o.now ?? Date.now;
  const dir = o.cacheDir ?? defaultCacheDir();
  const key = createHash("sha256")
    .update(
      JSON.stringify([
        o.roleArn,
        o.tokenFile,
        o.stsEndpoint ?? "",
        o.region,
        o.sessionName,
        o.durationSeconds ?? 0,
      ]),
    )
    .digest("hex")
    .slice(0, 32);
  const file = join(dir, `${key}.json`);
  if (!o.noCache) {
    try {
      const cached = JSON.parse(await readFile(file, "utf8")) as unknown;
      if (isFresh(cached, now())) {
        const out: ProcessCredentials = {
          Version: 1,
          AccessKeyId: cached.AccessKeyId,
          SecretAccessKey: cached.SecretAccessKey,
          SessionToken: cached.SessionToken,
          Expiration: cached.Expiration,
        };
        return `${JSON.stringify(out)}\n`;
      }
    } catch {
      // No cache, or an unreadable one: exchange anew.
    }
  }
  const token = await readTextFile(o.tokenFile, "token file");
  const issuedAt = new Date(now()).toISOString();
  const c = await exchangeWebIdentity({
    roleArn: o.roleArn,
    token,
    sessionName: o.sessionName,
    durationSeconds: o.durationSeconds,
    endpoint: o.stsEndpoint,
    region: o.region,
  });
  const out: ProcessCredentials = {
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    Expiration: c.expiration.toISOString(),
  };
  if (!o.noCache) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, `${JSON.stringify({ ...out, IssuedAt: issuedAt })}\n`, 0o600);
  }
  return `${JSON.stringify(out)}\n`;
}
