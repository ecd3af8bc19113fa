/**
 * An HTTP proxy in front of moto that records the action of every AWS query-protocol call (IAM and
 * STS), so tests can assert which calls a command made (none written on a second run) without
 * trusting the command's own account of it.
 *
 * moto 5.2.5 does not implement AddClientIDToOpenIDConnectProvider and
 * RemoveClientIDFromOpenIDConnectProvider (it answers HTTP 500). The proxy does those two itself,
 * on moto's own state: it reads the provider from moto, deletes it and creates it again with the
 * new client id list and the same thumbprints, then answers as IAM does. This is the only part of
 * the AWS side not done by moto itself; every other call goes through to moto unchanged.
 */
import {
  CreateOpenIDConnectProviderCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  IAMClient,
} from "@aws-sdk/client-iam";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { REGION, TEST_CREDENTIALS } from "./aws.js";

export interface IamRecorder {
  /** http://127.0.0.1:<port>: pass it as --endpoint-url. */
  readonly endpoint: string;
  /** Every action called through the proxy, in order. */
  readonly actions: string[];
  /** The actions that write (not Get*, List*, GetCallerIdentity). */
  writes(): string[];
  /** Forgets what was recorded. */
  reset(): void;
  close(): Promise<void>;
}

const READ = /^(Get|List)/;

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function forward(target: URL, req: IncomingMessage, payload: Buffer, res: ServerResponse): void {
  const up = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  up.on("error", (e) => {
    res.writeHead(502).end(e.message);
  });
  up.end(payload);
}

/** AddClientID / RemoveClientID on moto: recreate the provider with the new list. */
async function changeClientIds(iam: IAMClient, action: string, form: URLSearchParams): Promise<string> {
  const arn = form.get("OpenIDConnectProviderArn") ?? "";
  const id = form.get("ClientID") ?? "";
  const p = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
  const ids = p.ClientIDList ?? [];
  const next = action.startsWith("Add") ? [...ids.filter((c) => c !== id), id] : ids.filter((c) => c !== id);
  await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
  await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: `https://${p.Url ?? ""}`,
      ClientIDList: next,
      ThumbprintList: p.ThumbprintList ?? [],
    }),
  );
  return `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>irsa-recorder</RequestId></ResponseMetadata></${action}Response>`;
}

export async function startIamRecorder(motoEndpoint: string): Promise<IamRecorder> {
  const target = new URL(motoEndpoint);
  const iam = new IAMClient({
    endpoint: motoEndpoint,
    region: REGION,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
  const actions: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const payload = await body(req);
      const form = new URLSearchParams(payload.toString("utf8"));
      const action = form.get("Action");
      if (action !== null) actions.push(action);
      if (
        action === "AddClientIDToOpenIDConnectProvider" ||
        action === "RemoveClientIDFromOpenIDConnectProvider"
      ) {
        try {
          const xml = await changeClientIds(iam, action, form);
          res.writeHead(200, { "content-type": "text/xml" }).end(xml);
        } catch (e) {
          res.writeHead(500).end((e as Error).message);
        }
        return;
      }
      forward(target, req, payload, res);
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    actions,
    writes: () => actions.filter((a) => !READ.test(a)),
    reset: () => actions.splice(0, actions.length),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) =>
        server.close(() => {
          r();
        }),
      );
      iam.destroy();
    },
  };
}
