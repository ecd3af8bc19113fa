/**
 * IAM and STS through the AWS SDK v3 (default credential chain and region, optionally another
 * endpoint): the caller's account, the OIDC provider and IRSA roles. Every call is recorded by
 * action name, writes apart, so callers can say what changed; access denials name the IAM action.
 */
import {
  AddClientIDToOpenIDConnectProviderCommand,
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateOpenIDConnectProviderThumbprintCommand,
  UpdateRoleCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { IrsaError } from "../../core/errors.js";
import type { ProviderState, RoleState } from "../../core/iam/index.js";

export interface AwsOptions {
  readonly endpointUrl?: string | undefined;
  readonly region?: string | undefined;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

function config(o: AwsOptions): {
  region: string;
  endpoint?: string;
  credentials?: AwsOptions["credentials"] & {};
  maxAttempts: number;
} {
  const region = o.region ?? process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"] ?? "us-east-1";
  return {
    region: region === "" ? "us-east-1" : region,
    maxAttempts: 2,
    ...(o.endpointUrl !== undefined ? { endpoint: o.endpointUrl } : {}),
    ...(o.credentials !== undefined ? { credentials: { ...o.credentials } } : {}),
  };
}

function describeAwsError(action: string, e: unknown): IrsaError {
  const name = e instanceof Error ? e.name : "Error";
  const message = e instanceof Error ? e.message : String(e);
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return new IrsaError(
      "IAM_ACCESS_DENIED",
      `AWS refused ${action}: ${message}`,
      `grant the caller the IAM action ${action.startsWith("GetCallerIdentity") ? "sts" : "iam"}:${action}`,
      { cause: e },
    );
  }
  if (name === "CredentialsProviderError") {
    return new IrsaError(
      "IAM_FAILED",
      `${action}: no AWS credentials: ${message}`,
      "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where the SDK finds credentials",
      { cause: e },
    );
  }
  return new IrsaError("IAM_FAILED", `${action} failed: ${name}: ${message}`, undefined, { cause: e });
}

export class IamApi {
  readonly iam: IAMClient;
  readonly sts: STSClient;
  /** Every action called, in order. */
  readonly calls: string[] = [];
  /** The write actions called, in order. */
  readonly writes: string[] = [];

  constructor(o: AwsOptions) {
    this.iam = new IAMClient(config(o));
    this.sts = new STSClient(config(o));
  }

  private async call<T>(action: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    this.calls.push(action);
    if (write) this.writes.push(action);
    try {
      return await fn();
    } catch (e) {
      throw describeAwsError(action, e);
    }
  }

  async accountId(): Promise<string> {
    const r = await this.call("GetCallerIdentity", false, () =>
      this.sts.send(new GetCallerIdentityCommand({})),
    );
    if (r.Account === undefined)
      throw new IrsaError("IAM_FAILED", "GetCallerIdentity answered without an account");
    return r.Account;
  }

  async getProvider(arn: string): Promise<ProviderState | undefined> {
    try {
      const r = await this.call("GetOpenIDConnectProvider", false, () =>
        this.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
      );
      return { clientIds: r.ClientIDList ?? [], thumbprints: r.ThumbprintList ?? [] };
    } catch (e) {
      if (isNoSuchEntity(e)) return undefined;
      throw e;
    }
  }

  async createProvider(url: string, want: ProviderState): Promise<string> {
    const r = await this.call("CreateOpenIDConnectProvider", true, () =>
      this.iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: url,
          ClientIDList: [...want.clientIds],
          ...(want.thumbprints.length > 0 ? { ThumbprintList: [...want.thumbprints] } : {}),
        }),
      ),
    );
    return r.OpenIDConnectProviderArn ?? "";
  }

  async addClientId(arn: string, id: string): Promise<void> {
    await this.call("AddClientIDToOpenIDConnectProvider", true, () =>
      this.iam.send(
        new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: id }),
      ),
    );
  }

  async removeClientId(arn: string, id: string): Promise<void> {
    await this.call("RemoveClientIDFromOpenIDConnectProvider", true, () =>
      this.iam.send(
        new RemoveClientIDFromOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: id }),
      ),
    );
  }

  async setThumbprints(arn: string, thumbprints: readonly string[]): Promise<void> {
    await this.call("UpdateOpenIDConnectProviderThumbprint", true, () =>
      this.iam.send(
        new UpdateOpenIDConnectProviderThumbprintCommand({
          OpenIDConnectProviderArn: arn,
          ThumbprintList: [...thumbprints],
        }),
      ),
    );
  }

  async getRole(name: string): Promise<RoleState | undefined> {
    let role;
    try {
      role = (await this.call("GetRole", false, () => this.iam.send(new GetRoleCommand({ RoleName: name }))))
        .Role;
    } catch (e) {
      if (isNoSuchEntity(e)) return undefined;
      throw e;
    }
    if (role === undefined) return undefined;
    const attached = await this.call("ListAttachedRolePolicies", false, () =>
      this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, MaxItems: 1000 })),
    );
    const doc = role.AssumeRolePolicyDocument;
    return {
      arn: role.Arn ?? "",
      trustPolicy: doc === undefined ? undefined : (JSON.parse(decodeURIComponent(doc)) as unknown),
      maxSessionDuration: role.MaxSessionDuration,
      attached: (attached.AttachedPolicies ?? []).flatMap((p) =>
        p.PolicyArn === undefined ? [] : [p.PolicyArn],
      ),
    };
  }

  async createRole(
    name: string,
    trustPolicy: unknown,
    maxSessionDuration: number | undefined,
  ): Promise<string> {
    const r = await this.call("CreateRole", true, () =>
      this.iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: JSON.stringify(trustPolicy),
          Description: "IAM role for Kubernetes service accounts (irsa-anywhere)",
          ...(maxSessionDuration !== undefined ? { MaxSessionDuration: maxSessionDuration } : {}),
        }),
      ),
    );
    return r.Role?.Arn ?? "";
  }

  async updateTrustPolicy(name: string, trustPolicy: unknown): Promise<void> {
    await this.call("UpdateAssumeRolePolicy", true, () =>
      this.iam.send(
        new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trustPolicy) }),
      ),
    );
  }

  async updateMaxSessionDuration(name: string, seconds: number): Promise<void> {
    await this.call("UpdateRole", true, () =>
      this.iam.send(new UpdateRoleCommand({ RoleName: name, MaxSessionDuration: seconds })),
    );
  }

  async attach(name: string, policyArn: string): Promise<void> {
    await this.call("AttachRolePolicy", true, () =>
      this.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn })),
    );
  }
}

function isNoSuchEntity(e: unknown): boolean {
  const cause = e instanceof IrsaError ? e.cause : e;
  return (
    (cause instanceof IAMServiceException && cause.name === "NoSuchEntityException") ||
    (cause instanceof Error && cause.name === "NoSuchEntity")
  );
}
