/** One table per rule of the pod mutation, plus the Go-compatible parsers it relies on. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  applyAddOperations,
  configMapEntry,
  defaultServiceAccountSettings,
  escapePointerToken,
  mutatePod,
  mutationPatch,
  parseConfigMapEntries,
  parseContainerCredentialsIdentities,
  partitionForRegion,
  roleArnWarning,
  serviceAccountSettings,
  webhookConfig,
  type ConfigMapEntries,
  type MutationResult,
  type PatchOperation,
  type ServiceAccountOptions,
  type WebhookConfig,
} from "../../src/core/mutate/index.js";
import { goCleanPath, goJoinPath, parseGoBool, parseGoInt64 } from "../../src/core/go/parse.js";

/** The defaults with the jitter fixed at 0. */
const CONFIG0 = webhookConfig({ jitter: () => 0 });

type Json = Record<string, unknown>;
interface Env {
  name: string;
  value?: string;
}

const ARN = "arn:aws:iam::111122223333:role/s3-reader";
const TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const MOUNT = {
  name: "aws-iam-token",
  readOnly: true,
  mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
};

function pod(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", ...metadata },
    spec: { containers: [{ name: "app", image: "amazonlinux" }], serviceAccountName: "default", ...spec },
  };
}

function sa(annotations: Record<string, string> = { "eks.amazonaws.com/role-arn": ARN }): Json {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", annotations } };
}

function run(
  p: Json,
  opts: { sa?: Json; config?: Partial<WebhookConfig>; options?: ServiceAccountOptions } = {},
): MutationResult {
  const config = webhookConfig({ jitter: () => 0, ...opts.config });
  return mutatePod(p, serviceAccountSettings(opts.sa ?? sa(), config, opts.options), config);
}

function containers(r: MutationResult, key = "containers"): Json[] {
  return (r.pod.spec as Json)[key] as Json[];
}

function envOf(r: MutationResult, i = 0, key = "containers"): Env[] {
  return (containers(r, key)[i]?.env as Env[] | undefined) ?? [];
}

function envNames(r: MutationResult, i = 0, key = "containers"): string[] {
  return envOf(r, i, key).map((e) => e.name);
}

function volumeSource(r: MutationResult, name = "aws-iam-token"): Json | undefined {
  const vols = ((r.pod.spec as Json).volumes as Json[] | undefined) ?? [];
  const v = vols.find((x) => x.name === name) as
    { projected: { sources: { serviceAccountToken: Json }[] } } | undefined;
  return v?.projected.sources[0]?.serviceAccountToken;
}

function expiration(r: MutationResult, name?: string): unknown {
  return volumeSource(r, name)?.expirationSeconds;
}

describe("web-identity mode", () => {
  it("injects the volume, the mount and AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE", () => {
    const r = run(pod());
    assert.equal(r.mode, "web-identity");
    assert.deepEqual(r.patch, [
      {
        op: "add",
        path: "/spec/volumes",
        value: [
          {
            name: "aws-iam-token",
            projected: {
              sources: [
                {
                  serviceAccountToken: {
                    audience: "sts.amazonaws.com",
                    expirationSeconds: 86400,
                    path: "token",
                  },
                },
              ],
            },
          },
        ],
      },
      {
        op: "add",
        path: "/spec/containers/0/env",
        value: [
          { name: "AWS_ROLE_ARN", value: ARN },
          { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: TOKEN_FILE },
        ],
      },
      { op: "add", path: "/spec/containers/0/volumeMounts", value: [MOUNT] },
    ]);
  });

  it("appends to existing env, mounts and volumes with one op each, the volume first", () => {
    const r = run(
      pod({
        containers: [
          {
            name: "app",
            env: [{ name: "A", value: "1" }],
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      }),
    );
    assert.deepEqual(
      r.patch.map((o) => o.path),
      [
        "/spec/volumes/0",
        "/spec/containers/0/env/-",
        "/spec/containers/0/env/-",
        "/spec/containers/0/volumeMounts/-",
      ],
    );
    assert.deepEqual(
      ((r.pod.spec as Json).volumes as Json[]).map((v) => v.name),
      ["aws-iam-token", "data"],
    );
    assert.deepEqual(envNames(r), ["A", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
  });

  it("puts the volume at /spec/volumes/0 when volumes is an empty list", () => {
    assert.equal(run(pod({ volumes: [] })).patch[0]?.path, "/spec/volumes/0");
  });

  it("treats null env, volumeMounts and volumes as absent", () => {
    const r = run(pod({ containers: [{ name: "app", env: null, volumeMounts: null }], volumes: null }));
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/volumes", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"],
    );
  });

  it("leaves a pod alone when the service account has no role ARN", () => {
    const p = pod();
    for (const account of [sa({}), sa({ "eks.amazonaws.com/role-arn": "" })]) {
      const r = run(p, { sa: account });
      assert.equal(r.mode, "none");
      assert.deepEqual(r.patch, []);
      assert.deepEqual(r.pod, p);
      assert.notEqual(r.pod, p, "a copy, not the input");
    }
  });

  it("does not modify its input", () => {
    const p = pod();
    const before = structuredClone(p);
    run(p);
    assert.deepEqual(p, before);
  });

  it("mutates init containers, native sidecars included, and keeps their fields", () => {
    const r = run(
      pod({
        initContainers: [
          { name: "init", image: "busybox" },
          {
            name: "sidecar",
            image: "envoy",
            restartPolicy: "Always",
            startupProbe: { grpc: { port: 9901 } },
          },
        ],
      }),
    );
    assert.deepEqual(envNames(r, 0, "initContainers"), ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
    const sidecar = containers(r, "initContainers")[1] ?? {};
    assert.equal(sidecar.restartPolicy, "Always");
    assert.deepEqual(sidecar.startupProbe, { grpc: { port: 9901 } });
    assert.deepEqual(sidecar.volumeMounts, [MOUNT]);
  });

  it("uses the service account's audience annotation, else --token-audience", () => {
    assert.equal(volumeSource(run(pod()))?.audience, "sts.amazonaws.com");
    assert.equal(volumeSource(run(pod(), { config: { tokenAudience: "example" } }))?.audience, "example");
    const annotated = sa({ "eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/audience": "custom" });
    assert.equal(
      volumeSource(run(pod(), { sa: annotated, config: { tokenAudience: "example" } }))?.audience,
      "custom",
    );
  });

  it("mounts at --token-mount-path and joins the token file as Go's filepath.Join", () => {
    const r = run(pod(), { config: { tokenMountPath: "/custom/dir/" } });
    assert.deepEqual(containers(r)[0]?.volumeMounts, [
      { name: "aws-iam-token", readOnly: true, mountPath: "/custom/dir/" },
    ]);
    assert.equal(envOf(r)[1]?.value, "/custom/dir/token");
  });

  it("composes a role ARN from a bare role name when asked", () => {
    const account = sa({ "eks.amazonaws.com/role-arn": "path/my-role" });
    const options = { composeRoleArn: { partition: "aws-cn", accountId: "111122223333" } };
    assert.equal(
      envOf(run(pod(), { sa: account, options }))[0]?.value,
      "arn:aws-cn:iam::111122223333:role/path/my-role",
    );
    assert.equal(envOf(run(pod(), { sa: sa(), options }))[0]?.value, ARN, "full ARNs are kept");
    assert.equal(envOf(run(pod(), { sa: account }))[0]?.value, "path/my-role", "off by default");
  });

  it("warns about role ARNs that do not look like one", () => {
    assert.equal(roleArnWarning(ARN), undefined);
    assert.equal(roleArnWarning("arn:aws-us-gov:iam::111122223333:role/a/b@c"), undefined);
    assert.match(roleArnWarning("my-role") ?? "", /not of the form/);
    assert.match(roleArnWarning("arn:aws:iam::1111:role/x") ?? "", /not of the form/);
  });

  it("warns about anything around or inside the ARN that IAM would not take", () => {
    for (const arn of [
      `x${ARN}`,
      `${ARN} `,
      "arn:aws:iam::1111222233334:role/x",
      "arn:aws:iam::111122223333:role/",
      "arn:aws:iam::111122223333:role/a b",
      "arn:aws:iam::111122223333:user/x",
      "arn:azure:iam::111122223333:role/x",
    ]) {
      assert.equal(
        roleArnWarning(arn),
        `role ARN ${JSON.stringify(arn)} is not of the form arn:<partition>:iam::<12-digit account>:role/<name>`,
        arn,
      );
    }
    assert.equal(roleArnWarning(""), undefined, "no role, nothing to warn about");
    assert.equal(roleArnWarning("arn:aws-cn:iam::111122223333:role/a-b_c.d+e=f,g@h/i"), undefined);
  });

  it("composes nothing from an empty role-arn annotation: no role, no mutation", () => {
    const options = { composeRoleArn: { partition: "aws", accountId: "111122223333" } };
    const r = run(pod(), { sa: sa({ "eks.amazonaws.com/role-arn": "" }), options });
    assert.deepEqual(r.patch, []);
  });

  it("derives --compose-role-arn's partition from the region as upstream does", () => {
    const cases: [string, string][] = [
      ["cn-north-1", "aws-cn"],
      ["us-gov-west-1", "aws-us-gov"],
      ["us-isob-east-1", "aws-iso-b"],
      ["us-iso-east-1", "aws-iso"],
      ["eusc-de-east-1", "aws-eusc"],
      ["us-east-1", "aws"],
      ["eu-west-1", "aws"],
      ["", "aws"],
      ["xcn-north-1", "aws"],
    ];
    for (const [region, want] of cases) assert.equal(partitionForRegion(region), want, region);
  });
});

describe("token expiration", () => {
  const withSa = (value: string): Json =>
    sa({ "eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": value });
  const withPod = (value: string): Json =>
    pod({}, { annotations: { "eks.amazonaws.com/token-expiration": value } });
  const cases: [string, Json, Json, Partial<WebhookConfig>, number][] = [
    ["default is 86400, not jittered in web-identity mode", pod(), sa(), {}, 86400],
    ["--token-expiration", pod(), sa(), { tokenExpiration: 7200 }, 7200],
    ["--token-expiration below 600 is raised to 600", pod(), sa(), { tokenExpiration: 60 }, 600],
    ["service account annotation overrides the flag", pod(), withSa("3600"), { tokenExpiration: 7200 }, 3600],
    ["service account annotation below 600 is raised", pod(), withSa("599"), {}, 600],
    ["negative annotation is raised to 600", pod(), withSa("-5"), {}, 600],
    ["unparseable annotation falls back to the flag", pod(), withSa("1h"), { tokenExpiration: 7200 }, 7200],
    ["annotation with spaces is not an integer", pod(), withSa(" 3600"), {}, 86400],
    ["signed annotation parses as Go does", pod(), withSa("+4000"), {}, 4000],
    ["pod annotation overrides the service account", withPod("1800"), withSa("3600"), {}, 1800],
    ["pod annotation below 600 is raised", withPod("10"), withSa("3600"), {}, 600],
    ["unparseable pod annotation keeps the account's", withPod("soon"), withSa("3600"), {}, 3600],
    ["values above 86400 are kept (kube-apiserver caps them)", withPod("172800"), sa(), {}, 172800],
    [
      "above 2^32 (which kube-apiserver refuses) is lowered to 2^32",
      withPod("9999999999"),
      sa(),
      {},
      2 ** 32,
    ],
    ["--token-expiration above 2^32 is lowered too", pod(), sa(), { tokenExpiration: 2 ** 40 }, 2 ** 32],
  ];
  for (const [name, p, account, config, want] of cases) {
    it(name, () => {
      assert.equal(expiration(run(p, { sa: account, config })), want);
    });
  }

  it("in container-credentials mode jitters exactly 86400 into [79200, 86400]", () => {
    const cc = { options: { containerCredentials: true } };
    const vol = "eks-pod-identity-token";
    const bounds: number[] = [];
    const jitter = (bound: number): number => {
      bounds.push(bound);
      return 123;
    };
    assert.equal(expiration(run(pod(), { ...cc, config: { jitter } }), vol), 79323);
    assert.deepEqual(bounds, [7201]);
    assert.equal(expiration(run(pod(), { ...cc, config: { jitter: () => 0 } }), vol), 79200);
    assert.equal(expiration(run(pod(), { ...cc, config: { jitter: () => 7200 } }), vol), 86400);
    assert.equal(expiration(run(pod(), { ...cc, config: { jitter: () => 1e9 } }), vol), 86400, "clamped");
    assert.equal(expiration(run(withPod("86400"), cc), vol), 79200, "whatever set 86400, as upstream");
    assert.equal(expiration(run(withPod("3600"), cc), vol), 3600);
    assert.equal(expiration(run(pod(), { ...cc, sa: withSa("10000") }), vol), 10000);
  });
});

describe("skip-containers", () => {
  const twoContainers = (annotation: string): Json =>
    pod(
      {
        initContainers: [{ name: "init" }],
        containers: [{ name: "app" }, { name: "sidecar" }],
      },
      { annotations: { "eks.amazonaws.com/skip-containers": annotation } },
    );
  const mutated = (r: MutationResult): string[] =>
    [...containers(r, "initContainers"), ...containers(r)]
      .filter((c) => c.env !== undefined)
      .map((c) => String(c.name));
  const cases: [string, string, string[]][] = [
    ["one name", "sidecar", ["init", "app"]],
    ["a list, init containers included", "init,sidecar", ["app"]],
    ["spaces around names", " init , sidecar ", ["app"]],
    ["quoted names", '"app","init"', ["sidecar"]],
    ["one name per line", "app\nsidecar\n", ["init"]],
    ["spaces alone separate", "app sidecar", ["init"]],
    ["a stray quote spoils only its own name", 'app,si"de', ["init", "sidecar"]],
    ["a quote inside a name is kept, so it names no container", 'app,side"car', ["init", "sidecar"]],
    ["empty: nothing skipped", "", ["init", "app", "sidecar"]],
    ["only separators: nothing skipped", " , ,\n", ["init", "app", "sidecar"]],
  ];
  for (const [name, annotation, want] of cases) {
    it(name, () => {
      assert.deepEqual(mutated(run(twoContainers(annotation))), want);
    });
  }

  it("lists in the plan exactly the names it skips, none without the annotation", () => {
    const plan = (annotation?: string): ReadonlySet<string> | undefined => {
      const p = annotation === undefined ? pod() : twoContainers(annotation);
      return mutationPatch(p, serviceAccountSettings(sa(), CONFIG0), CONFIG0).plan?.skipContainers;
    };
    assert.deepEqual(plan(), new Set());
    assert.deepEqual(plan(""), new Set());
    assert.deepEqual(plan(' init ,, "sidecar"\n'), new Set(["init", "sidecar"]));
  });

  it("still adds the volume when every container is skipped", () => {
    const r = run(pod({}, { annotations: { "eks.amazonaws.com/skip-containers": "app" } }));
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/volumes"],
    );
  });

  it("reads the annotation under --annotation-prefix", () => {
    const p = pod({}, { annotations: { "example.com/skip-containers": "app" } });
    const r = run(p, {
      sa: sa({ "example.com/role-arn": ARN }),
      config: { annotationPrefix: "example.com" },
    });
    assert.deepEqual(envNames(r), []);
  });
});

describe("env already present", () => {
  const withEnv = (env: Env[]): Json => pod({ containers: [{ name: "app", env }] });
  const flags = { awsDefaultRegion: "eu-west-1", stsRegionalEndpoint: true };
  const cases: [string, Env[], string[]][] = [
    [
      "nothing present: all, in upstream's order",
      [],
      [
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
      ],
    ],
    [
      "AWS_ROLE_ARN present: neither web-identity var is added",
      [{ name: "AWS_ROLE_ARN", value: "mine" }],
      ["AWS_ROLE_ARN", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION"],
    ],
    [
      "AWS_WEB_IDENTITY_TOKEN_FILE present: neither web-identity var is added",
      [{ name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "/mine" }],
      ["AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION"],
    ],
    [
      "AWS_REGION present: no region var is added",
      [{ name: "AWS_REGION", value: "paris" }],
      ["AWS_REGION", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
    ],
    [
      "AWS_DEFAULT_REGION present: no region var is added",
      [{ name: "AWS_DEFAULT_REGION", value: "paris" }],
      ["AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
    ],
    [
      "AWS_STS_REGIONAL_ENDPOINTS present: kept",
      [{ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "legacy" }],
      [
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
      ],
    ],
  ];
  for (const [name, env, want] of cases) {
    it(name, () => {
      const r = run(withEnv(env), { config: flags });
      assert.deepEqual(envNames(r), want);
      assert.deepEqual(envOf(r).slice(0, env.length), env, "existing entries are untouched");
    });
  }
});

describe("a container that configures its own credentials is left alone (upstream's rule)", () => {
  // Upstream (addEnvToContainer): one of the mode's credential vars, a region var and
  // AWS_STS_REGIONAL_ENDPOINTS in env: no env and no mount for that container.
  const WI = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"] as const;
  const CC = ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] as const;
  const REGION = ["AWS_REGION", "AWS_DEFAULT_REGION"];
  const STS = "AWS_STS_REGIONAL_ENDPOINTS";
  const modes = [
    { mode: "web-identity", credential: WI, other: CC, options: {} },
    { mode: "container-credentials", credential: CC, other: WI, options: { containerCredentials: true } },
  ] as const;
  const flagSets = [
    { name: "no region or regional-STS flag", config: {} },
    {
      name: "region and regional STS set",
      config: { awsDefaultRegion: "eu-west-1", stsRegionalEndpoint: true },
    },
  ];
  for (const m of modes) {
    for (const flags of flagSets) {
      for (const credential of m.credential) {
        for (const region of REGION) {
          const names = [credential, region, STS];
          it(`${m.mode}, ${flags.name}: ${names.join(" + ")} present: no env, no mount`, () => {
            const env = names.map((name) => ({ name, value: "mine" }));
            const c = { name: "app", env, volumeMounts: [{ name: "own", mountPath: "/own" }] };
            const r = run(pod({ containers: [c, { name: "other" }] }), {
              options: m.options,
              config: flags.config,
            });
            assert.equal(r.mode, m.mode);
            assert.ok(!r.patch.some((o) => o.path.startsWith("/spec/containers/0")), JSON.stringify(r.patch));
            assert.deepEqual(containers(r)[0], c);
            assert.ok(
              r.patch.some((o) => o.path.startsWith("/spec/containers/1")),
              "the other container is mutated",
            );
            assert.ok(
              r.patch.some((o) => o.path === "/spec/volumes"),
              "the pod still gets the volume",
            );
          });
        }
      }
    }
    const partial: [string, string[]][] = [
      ["credential and region, no AWS_STS_REGIONAL_ENDPOINTS", [m.credential[0], "AWS_REGION"]],
      ["credential and AWS_STS_REGIONAL_ENDPOINTS, no region", [m.credential[1], STS]],
      ["region and AWS_STS_REGIONAL_ENDPOINTS, no credential var", ["AWS_DEFAULT_REGION", STS]],
      [
        "the other mode's credential var, region and AWS_STS_REGIONAL_ENDPOINTS",
        [m.other[0], "AWS_REGION", STS],
      ],
    ];
    for (const [name, names] of partial) {
      it(`${m.mode}: ${name}: still mutated (mount added)`, () => {
        const env = names.map((n) => ({ name: n, value: "mine" }));
        const r = run(pod({ containers: [{ name: "app", env }] }), { options: m.options });
        assert.ok(
          r.patch.some((o) => o.path === "/spec/containers/0/volumeMounts"),
          JSON.stringify(r.patch),
        );
      });
    }
  }

  it("an init container is left alone by the same rule", () => {
    const env = ["AWS_ROLE_ARN", "AWS_REGION", STS].map((name) => ({ name, value: "x" }));
    const r = run(pod({ initContainers: [{ name: "init", env }] }));
    assert.ok(!r.patch.some((o) => o.path.startsWith("/spec/initContainers")));
    assert.ok(r.patch.some((o) => o.path.startsWith("/spec/containers/0")));
  });
});

describe("volume and mount already present", () => {
  it("uses a volume of the same name that is the token volume, and injects env and mount", () => {
    const token = { audience: "sts.amazonaws.com", expirationSeconds: 3600, path: "token" };
    const volume = { name: "aws-iam-token", projected: { sources: [{ serviceAccountToken: token }] } };
    const r = run(pod({ volumes: [volume] }));
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/containers/0/env", "/spec/containers/0/volumeMounts"],
    );
    assert.equal(r.conflict, undefined);
  });

  it("leaves the pod unchanged, saying why, when its own volume of that name is something else", () => {
    const token = (audience: string, path = "token") => ({
      projected: { sources: [{ configMap: { name: "ca" } }, { serviceAccountToken: { audience, path } }] },
    });
    for (const source of [
      { hostPath: { path: "/x" } },
      { emptyDir: {} },
      token("vault"),
      token("sts.amazonaws.com", "other"),
      { projected: { sources: [{ serviceAccountToken: { path: "token" } }] } },
    ]) {
      const r = run(pod({ volumes: [{ name: "aws-iam-token", ...source }] }));
      assert.deepEqual(r.patch, [], JSON.stringify(source));
      assert.match(r.conflict ?? "", /own volume "aws-iam-token" is not a projected service account token/);
    }
    const cc = run(pod({ volumes: [{ name: "eks-pod-identity-token", emptyDir: {} }] }), {
      options: { containerCredentials: true },
    });
    assert.deepEqual(cc.patch, [], "no label either in container-credentials mode");
    assert.match(cc.conflict ?? "", /"eks-pod-identity-token"/);
  });

  it("takes a token source without an audience as one for the empty audience", () => {
    // kube-apiserver drops an empty audience from the stored pod (omitempty), so a pod mutated
    // with --token-audience "" comes back with a token source that has no audience at all.
    const volume = {
      name: "aws-iam-token",
      projected: { sources: [{ serviceAccountToken: { expirationSeconds: 86400, path: "token" } }] },
    };
    const r = run(pod({ volumes: [volume] }), { config: { tokenAudience: "" } });
    assert.equal(r.conflict, undefined);
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/containers/0/env", "/spec/containers/0/volumeMounts"],
    );
  });

  it("keeps a mount of the volume, whatever its path", () => {
    const p = pod({
      containers: [{ name: "app", volumeMounts: [{ name: "aws-iam-token", mountPath: "/elsewhere" }] }],
    });
    const r = run(p);
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/volumes", "/spec/containers/0/env"],
    );
    assert.equal(envOf(r)[1]?.value, TOKEN_FILE, "the env points at the configured path, as upstream");
  });

  it("adds no second mount at a path another volume already uses (the pod would be invalid)", () => {
    const p = pod({
      containers: [{ name: "app", volumeMounts: [{ name: "mine", mountPath: MOUNT.mountPath }] }],
    });
    assert.deepEqual(
      run(p).patch.map((o) => o.path),
      ["/spec/volumes", "/spec/containers/0/env"],
    );
  });

  it("patches nothing the second time", () => {
    const first = run(pod({ initContainers: [{ name: "i" }] }), { config: { awsDefaultRegion: "x" } });
    assert.deepEqual(run(first.pod, { config: { awsDefaultRegion: "x" } }).patch, []);
  });
});

describe("region and regional STS", () => {
  it("adds no region vars without --aws-default-region", () => {
    assert.deepEqual(envNames(run(pod())), ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
  });

  it("adds AWS_DEFAULT_REGION then AWS_REGION with --aws-default-region", () => {
    const env = envOf(run(pod(), { config: { awsDefaultRegion: "cn-north-1" } }));
    assert.deepEqual(env.slice(0, 2), [
      { name: "AWS_DEFAULT_REGION", value: "cn-north-1" },
      { name: "AWS_REGION", value: "cn-north-1" },
    ]);
  });

  const sts = (value?: string): Json =>
    sa({
      "eks.amazonaws.com/role-arn": ARN,
      ...(value !== undefined && { "eks.amazonaws.com/sts-regional-endpoints": value }),
    });
  const cases: [string | undefined, boolean, boolean][] = [
    [undefined, false, false],
    [undefined, true, true],
    ["true", false, true],
    ["True", false, true],
    ["1", false, true],
    ["t", false, true],
    ["false", true, false],
    ["F", true, false],
    ["0", true, false],
    ["yes", true, true],
    ["yes", false, false],
    ["", true, true],
  ];
  for (const [annotation, flag, want] of cases) {
    it(`annotation ${JSON.stringify(annotation)} with --sts-regional-endpoint=${flag}: ${want ? "" : "no "}STS var`, () => {
      const names = envNames(run(pod(), { sa: sts(annotation), config: { stsRegionalEndpoint: flag } }));
      assert.equal(names.includes("AWS_STS_REGIONAL_ENDPOINTS"), want);
    });
  }
});

describe("windows pods", () => {
  const cases: [Record<string, string>, boolean][] = [
    [{ "kubernetes.io/os": "windows" }, true],
    [{ "beta.kubernetes.io/os": "windows" }, true],
    [{ "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "windows" }, true],
    [{ "kubernetes.io/os": "Windows" }, false],
    [{ "kubernetes.io/os": "linux" }, false],
    [{}, false],
  ];
  for (const [nodeSelector, windows] of cases) {
    it(`${JSON.stringify(nodeSelector)}: ${windows ? "C:\\ token path" : "unix token path"}`, () => {
      const r = run(pod({ nodeSelector }));
      const want = windows ? "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token" : TOKEN_FILE;
      assert.equal(envOf(r)[1]?.value, want);
      assert.deepEqual(containers(r)[0]?.volumeMounts, [MOUNT], "the mount path stays as given");
    });
  }

  it("converts the container-credentials token path too", () => {
    const r = run(pod({ nodeSelector: { "kubernetes.io/os": "windows" } }), {
      options: { containerCredentials: true },
    });
    assert.equal(
      envOf(r)[1]?.value,
      "C:\\var\\run\\secrets\\pods.eks.amazonaws.com\\serviceaccount\\eks-pod-identity-token",
    );
  });
});

describe("--annotation-prefix", () => {
  it("reads service account and pod annotations under the prefix only", () => {
    const config = { annotationPrefix: "example.com" };
    assert.equal(run(pod(), { config }).mode, "none", "eks.amazonaws.com/role-arn is not read");
    const account = sa({
      "example.com/role-arn": ARN,
      "example.com/audience": "aud",
      "example.com/token-expiration": "5000",
      "example.com/sts-regional-endpoints": "true",
    });
    const p = pod(
      {},
      {
        annotations: { "example.com/token-expiration": "4000", "eks.amazonaws.com/token-expiration": "3000" },
      },
    );
    const r = run(p, { sa: account, config });
    assert.equal(r.mode, "web-identity");
    assert.deepEqual(volumeSource(r), { audience: "aud", expirationSeconds: 4000, path: "token" });
    assert.ok(envNames(r).includes("AWS_STS_REGIONAL_ENDPOINTS"));
  });
});

describe("container-credentials mode", () => {
  const cc = { options: { containerCredentials: true } };
  const CC_VOLUME = {
    name: "eks-pod-identity-token",
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: "pods.eks.amazonaws.com",
            expirationSeconds: 79200,
            path: "eks-pod-identity-token",
          },
        },
      ],
    },
  };

  it("injects the label, its volume, mount and env, with the defaults", () => {
    const r = run(pod(), cc);
    assert.equal(r.mode, "container-credentials");
    assert.deepEqual(r.patch, [
      { op: "add", path: "/metadata/labels", value: { "eks.amazonaws.com/pod-identity": "enabled" } },
      { op: "add", path: "/spec/volumes", value: [CC_VOLUME] },
      {
        op: "add",
        path: "/spec/containers/0/env",
        value: [
          { name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", value: "http://169.254.170.23/v1/credentials" },
          {
            name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
          },
        ],
      },
      {
        op: "add",
        path: "/spec/containers/0/volumeMounts",
        value: [
          {
            name: "eks-pod-identity-token",
            readOnly: true,
            mountPath: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
          },
        ],
      },
    ]);
  });

  it("takes precedence over a role ARN", () => {
    assert.deepEqual(envNames(run(pod(), cc)), [
      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ]);
  });

  it("works for a service account without annotations", () => {
    assert.equal(run(pod(), { ...cc, sa: sa({}) }).mode, "container-credentials");
  });

  it("adds the label with an escaped pointer when labels exist, and not at all when already set", () => {
    const labelled = run(pod({}, { labels: { app: "x" } }), cc);
    assert.deepEqual(labelled.patch[0], {
      op: "add",
      path: "/metadata/labels/eks.amazonaws.com~1pod-identity",
      value: "enabled",
    });
    assert.deepEqual((labelled.pod.metadata as Json).labels, {
      app: "x",
      "eks.amazonaws.com/pod-identity": "enabled",
    });
    const already = run(pod({}, { labels: { "eks.amazonaws.com/pod-identity": "enabled" } }), cc);
    assert.ok(already.patch.every((o) => !o.path.startsWith("/metadata")));
    const other = run(pod({}, { labels: { "eks.amazonaws.com/pod-identity": "disabled" } }), cc);
    assert.equal(
      (other.pod.metadata as { labels: Json }).labels["eks.amazonaws.com/pod-identity"],
      "enabled",
    );
  });

  it("keeps the label key whatever the annotation prefix", () => {
    const r = run(pod(), { ...cc, config: { annotationPrefix: "example.com" } });
    assert.deepEqual((r.pod.metadata as Json).labels, { "eks.amazonaws.com/pod-identity": "enabled" });
  });

  it("adds metadata when the pod has none", () => {
    const p = pod();
    delete p.metadata;
    assert.deepEqual(run(p, cc).patch[0], {
      op: "add",
      path: "/metadata",
      value: { labels: { "eks.amazonaws.com/pod-identity": "enabled" } },
    });
  });

  it("uses the --container-credentials-* flags", () => {
    const config: Partial<WebhookConfig> = {
      containerCredentialsAudience: "aud",
      containerCredentialsFullUri: "http://uri",
      containerCredentialsTokenMountPath: "/mnt",
      containerCredentialsTokenVolumeName: "vol",
      containerCredentialsTokenPath: "tok",
      awsDefaultRegion: "r",
    };
    const r = run(pod(), { ...cc, config });
    assert.deepEqual(volumeSource(r, "vol"), { audience: "aud", expirationSeconds: 79200, path: "tok" });
    assert.deepEqual(envOf(r), [
      { name: "AWS_DEFAULT_REGION", value: "r" },
      { name: "AWS_REGION", value: "r" },
      { name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", value: "http://uri" },
      { name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", value: "/mnt/tok" },
    ]);
    assert.deepEqual(containers(r)[0]?.volumeMounts, [{ name: "vol", readOnly: true, mountPath: "/mnt" }]);
  });

  it("honours the service account's sts-regional-endpoints and token-expiration", () => {
    const account = sa({
      "eks.amazonaws.com/sts-regional-endpoints": "true",
      "eks.amazonaws.com/token-expiration": "10000",
    });
    const r = run(pod(), { ...cc, sa: account });
    assert.deepEqual(envNames(r)[0], "AWS_STS_REGIONAL_ENDPOINTS");
    assert.equal(expiration(r, "eks-pod-identity-token"), 10000);
  });

  it("leaves containers that already have a container-credentials var", () => {
    const p = pod({
      containers: [{ name: "app", env: [{ name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", value: "/x" }] }],
    });
    assert.deepEqual(envNames(run(p, cc)), ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]);
  });
});

describe("service account settings", () => {
  it("defaults to the flags", () => {
    const config = webhookConfig({
      tokenAudience: "a",
      stsRegionalEndpoint: true,
      tokenExpiration: 5000,
      jitter: () => 0,
    });
    assert.deepEqual(serviceAccountSettings(sa({}), config), {
      roleArn: "",
      audience: "a",
      useRegionalSts: true,
      tokenExpiration: 5000,
    });
    assert.deepEqual(defaultServiceAccountSettings(config), serviceAccountSettings(sa({}), config));
    assert.deepEqual(serviceAccountSettings({}, config), serviceAccountSettings(sa({}), config));
  });

  it("adds container-credentials settings when listed", () => {
    const s = serviceAccountSettings(sa({}), CONFIG0, { containerCredentials: true });
    assert.deepEqual(s.containerCredentials, {
      audience: "pods.eks.amazonaws.com",
      fullUri: "http://169.254.170.23/v1/credentials",
      mountPath: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
      volumeName: "eks-pod-identity-token",
      tokenPath: "eks-pod-identity-token",
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ["not an object", "x", /\(root\): expected an object, got a string/],
    ["another kind", { kind: "Pod" }, /kind: expected ServiceAccount/],
    [
      "annotations not an object",
      { metadata: { annotations: [] } },
      /metadata\.annotations: expected an object/,
    ],
    [
      "an annotation that is not a string",
      { metadata: { annotations: { "eks.amazonaws.com/token-expiration": 3600 } } },
      /metadata\.annotations\["eks\.amazonaws\.com\/token-expiration"\]: expected a string, got a number/,
    ],
  ];
  for (const [name, value, message] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => serviceAccountSettings(value, CONFIG0),
        (e: unknown) =>
          e instanceof IrsaError && e.code === "SERVICE_ACCOUNT_INVALID" && message.test(e.message),
      );
    });
  }

  it("reads the container-credentials identities file", () => {
    const ids = parseContainerCredentialsIdentities(
      '{"identities":[{"namespace":"a","serviceAccount":"b"},{"namespace":"c","serviceAccount":"d","workloadIdentity":true}]}',
      "f",
    );
    assert.deepEqual([...ids], ["a/b", "c/d"]);
    assert.equal(parseContainerCredentialsIdentities("", "f").size, 0);
    assert.equal(parseContainerCredentialsIdentities("{}", "f").size, 0);
    for (const text of ["{", "[]", '{"identities":{}}', '{"identities":[{"namespace":1}]}']) {
      assert.throws(
        () => parseContainerCredentialsIdentities(text, "f"),
        (e: unknown) =>
          e instanceof IrsaError && e.code === "INPUT_INVALID" && e.message.includes("config f"),
      );
    }
  });

  it("reads a container-credentials file of only whitespace as listing none", () => {
    assert.equal(parseContainerCredentialsIdentities(" \n\t", "f").size, 0);
  });

  it("keys a container-credentials identity without namespace or name by the empty string", () => {
    const ids = parseContainerCredentialsIdentities(
      '{"identities":[{"serviceAccount":"b"},{"namespace":"a"},{}]}',
      "f",
    );
    assert.deepEqual([...ids], ["/b", "a/", "/"]);
  });

  it("says which identity of a container-credentials file is wrong, and how", () => {
    const cases: [string, string][] = [
      ['{"identities":3}', "identities: expected an array, got a number"],
      [
        '{"identities":[{"namespace":"a","serviceAccount":"b"},"x"]}',
        "identities[1]: expected an object, got a string",
      ],
      ['{"identities":[{"namespace":1}]}', "identities[0].namespace: expected a string"],
      [
        '{"identities":[{"namespace":"a","serviceAccount":false}]}',
        "identities[0].serviceAccount: expected a string",
      ],
    ];
    for (const [text, problem] of cases) {
      assert.throws(
        () => parseContainerCredentialsIdentities(text, "/etc/cc.json"),
        (e: unknown) =>
          e instanceof IrsaError &&
          e.message === `invalid container credentials config /etc/cc.json: ${problem}` &&
          e.hint === 'expected {"identities":[{"namespace":"...","serviceAccount":"..."}]}',
        text,
      );
    }
  });

  it("names the field and asks for a v1 ServiceAccount when the object is wrong", () => {
    assert.throws(
      () => serviceAccountSettings({ kind: "Pod" }, CONFIG0),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.message === 'invalid service account: kind: expected ServiceAccount, got "Pod"' &&
        e.hint === "give a v1 ServiceAccount object",
    );
  });

  it("names a kind or metadata of the wrong type by its path from the object's root", () => {
    const cases: [unknown, string][] = [
      [{ kind: 3 }, "invalid service account: kind: expected a string, got a number"],
      [{ metadata: "x" }, "invalid service account: metadata: expected an object, got a string"],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => serviceAccountSettings(value, CONFIG0),
        (e: unknown) =>
          e instanceof IrsaError && e.code === "SERVICE_ACCOUNT_INVALID" && e.message === message,
        message,
      );
    }
  });
});

describe("--watch-config-map entries (data.config of the pod-identity-webhook ConfigMap)", () => {
  const entries = (doc: unknown, defaultExpiration = 86400): ConfigMapEntries =>
    parseConfigMapEntries(JSON.stringify(doc), defaultExpiration);

  it("lists none for a missing, empty or all-whitespace config", () => {
    for (const text of [undefined, "", " \n\t"]) assert.equal(parseConfigMapEntries(text, 86400).size, 0);
  });

  it("reads each entry's RoleARN, Audience, UseRegionalSTS and TokenExpiration", () => {
    const e = entries({
      "default/app": { RoleARN: ARN, Audience: "a", UseRegionalSTS: true, TokenExpiration: 3600 },
    });
    assert.deepEqual(
      [...e],
      [["default/app", { roleArn: ARN, audience: "a", useRegionalSts: true, tokenExpiration: 3600 }]],
    );
  });

  it("matches member names case-insensitively, as Go's encoding/json does", () => {
    const e = entries({
      "default/app": { rolearn: ARN, AUDIENCE: "a", useRegionalSts: true, tokenexpiration: 3600 },
    });
    assert.deepEqual(e.get("default/app"), {
      roleArn: ARN,
      audience: "a",
      useRegionalSts: true,
      tokenExpiration: 3600,
    });
  });

  it("ignores members other than the four, as Go's encoding/json does", () => {
    const e = entries({ "default/app": { Comment: 1, undefined: true, RoleARNs: ["x"] } });
    assert.deepEqual(e.get("default/app"), {
      roleArn: "",
      audience: "",
      useRegionalSts: false,
      tokenExpiration: 86400,
    });
  });

  it("gives an absent member Go's zero value, and a zero TokenExpiration the --token-expiration default", () => {
    const e = entries({ "default/app": {}, "default/zero": { TokenExpiration: 0 } }, 5000);
    const zero = { roleArn: "", audience: "", useRegionalSts: false, tokenExpiration: 5000 };
    assert.deepEqual(e.get("default/app"), zero);
    assert.deepEqual(e.get("default/zero"), zero);
  });

  it("brings TokenExpiration within kube-apiserver's bounds [600, 2^32]", () => {
    const e = entries({ "a/short": { TokenExpiration: 60 }, "a/long": { TokenExpiration: 2 ** 40 } });
    assert.equal(e.get("a/short")?.tokenExpiration, 600);
    assert.equal(e.get("a/long")?.tokenExpiration, 2 ** 32);
  });

  it("skips an entry whose value is null (a nil pointer in Go)", () => {
    const e = entries({ "default/none": null, "default/app": { RoleARN: ARN } });
    assert.deepEqual([...e.keys()], ["default/app"]);
  });

  it("takes keys of the form namespace/name, the namespace * standing for any", () => {
    const e = entries({ "my-ns/my-app": {}, "*/shared": {} });
    assert.deepEqual([...e.keys()], ["my-ns/my-app", "*/shared"]);
  });

  it("says what is wrong in the config, and what a config looks like", () => {
    const cases: [string, string][] = [
      ["{", "invalid ConfigMap pod-identity-webhook data.config: "],
      ["[]", "invalid ConfigMap pod-identity-webhook data.config: expected an object, got an array"],
      ['{"app":{}}', 'invalid ConfigMap pod-identity-webhook data.config: key "app" is not "namespace/name"'],
      [
        '{"a/b/c":{}}',
        'invalid ConfigMap pod-identity-webhook data.config: key "a/b/c" is not "namespace/name"',
      ],
      [
        '{"/app":{}}',
        'invalid ConfigMap pod-identity-webhook data.config: key "/app" is not "namespace/name"',
      ],
      ['{"ns/":{}}', 'invalid ConfigMap pod-identity-webhook data.config: key "ns/" is not "namespace/name"'],
      [
        '{"ns/app":"x"}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app: expected an object, got a string",
      ],
      [
        '{"ns/app":{"RoleARN":1}}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app.RoleARN: expected a string, got a number",
      ],
      [
        '{"ns/app":{"Audience":true}}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app.Audience: expected a string, got a boolean",
      ],
      [
        '{"ns/app":{"UseRegionalSTS":"true"}}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app.UseRegionalSTS: expected true or false",
      ],
      [
        '{"ns/app":{"TokenExpiration":"3600"}}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app.TokenExpiration: expected an integer number of seconds",
      ],
      [
        '{"ns/app":{"TokenExpiration":1.5}}',
        "invalid ConfigMap pod-identity-webhook data.config: ns/app.TokenExpiration: expected an integer number of seconds",
      ],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseConfigMapEntries(text, 86400),
        (e: unknown) =>
          e instanceof IrsaError &&
          e.code === "INPUT_INVALID" &&
          (message.endsWith(": ")
            ? e.message.startsWith(message) && e.message.length > message.length
            : e.message === message) &&
          e.hint ===
            'expected {"namespace/name":{"RoleARN":"arn:aws:iam::…","Audience":"sts.amazonaws.com","UseRegionalSTS":true,"TokenExpiration":86400}}',
        text,
      );
    }
  });

  it("looks an account up by namespace/name, else by */name", () => {
    const e = entries({
      "prod/app": { RoleARN: "arn:aws:iam::111122223333:role/prod" },
      "*/app": { RoleARN: "arn:aws:iam::111122223333:role/any" },
    });
    assert.equal(configMapEntry(e, "prod", "app")?.roleArn, "arn:aws:iam::111122223333:role/prod");
    assert.equal(configMapEntry(e, "dev", "app")?.roleArn, "arn:aws:iam::111122223333:role/any");
    assert.equal(configMapEntry(e, "prod", "other"), undefined);
  });
});

describe("malformed pods", () => {
  const base = (spec: Json): Json => ({ metadata: {}, spec });
  const cases: [string, unknown, string][] = [
    ["not an object", [], "(root): expected an object, got an array"],
    ["null", null, "(root): expected an object, got null"],
    ["another kind", { kind: "Deployment", spec: {} }, 'kind: expected Pod, got "Deployment"'],
    ["a kind that is not a string", { kind: 3, spec: {} }, "kind: expected a string, got a number"],
    ["no spec", { metadata: {} }, "spec: required object is missing"],
    [
      "containers not an array",
      base({ containers: {} }),
      "spec.containers: expected an array, got an object",
    ],
    [
      "a container not an object",
      base({ containers: ["app"] }),
      "spec.containers[0]: expected an object, got a string",
    ],
    [
      "a container without a name",
      base({ containers: [{ image: "x" }] }),
      "spec.containers[0].name: required string is missing",
    ],
    [
      "env not an array",
      base({ containers: [{ name: "a", env: "x" }] }),
      "spec.containers[0].env: expected an array",
    ],
    [
      "an env entry that is not an object",
      base({ containers: [{ name: "a", env: ["A=x"] }] }),
      "spec.containers[0].env[0]: expected an object, got a string",
    ],
    [
      "an env entry without a name",
      base({ containers: [{ name: "a", env: [{ name: "A" }, { value: "x" }] }] }),
      "spec.containers[0].env[1].name: required string is missing",
    ],
    [
      "an env name that is not a string",
      base({ initContainers: [{ name: "i", env: [{ name: 7 }] }], containers: [] }),
      "spec.initContainers[0].env[0].name: expected a string, got a number",
    ],
    [
      "a volume mount that is not an object",
      base({ containers: [{ name: "a", volumeMounts: [null] }] }),
      "spec.containers[0].volumeMounts[0]: expected an object, got null",
    ],
    [
      "a volume mount without a name",
      base({ containers: [{ name: "a", volumeMounts: [{ mountPath: "/x" }] }] }),
      "spec.containers[0].volumeMounts[0].name: required string is missing",
    ],
    [
      "a volume mount path that is not a string",
      base({ containers: [{ name: "a", volumeMounts: [{ name: "v", mountPath: 1 }] }] }),
      "spec.containers[0].volumeMounts[0].mountPath: expected a string, got a number",
    ],
    [
      "volumes not an array",
      base({ containers: [], volumes: 3 }),
      "spec.volumes: expected an array, got a number",
    ],
    [
      "a volume that is not an object",
      base({ containers: [], volumes: ["aws-iam-token"] }),
      "spec.volumes[0]: expected an object, got a string",
    ],
    [
      "a volume without a name",
      base({ containers: [], volumes: [{}] }),
      "spec.volumes[0].name: required string is missing",
    ],
    [
      "an annotation that is not a string",
      { metadata: { annotations: { "eks.amazonaws.com/skip-containers": ["a"] } }, spec: { containers: [] } },
      'metadata.annotations["eks.amazonaws.com/skip-containers"]: expected a string, got an array',
    ],
    [
      "labels not an object",
      { metadata: { labels: "x" }, spec: { containers: [] } },
      "metadata.labels: expected an object, got a string",
    ],
    [
      "a nodeSelector value that is not a string",
      base({ containers: [], nodeSelector: { "kubernetes.io/os": true } }),
      'spec.nodeSelector["kubernetes.io/os"]: expected a string, got a boolean',
    ],
  ];
  for (const [name, value, message] of cases) {
    it(`rejects ${name}, naming the field and asking for a v1 Pod`, () => {
      assert.throws(
        () => mutatePod(value, serviceAccountSettings(sa(), CONFIG0), CONFIG0),
        (e: unknown) =>
          e instanceof IrsaError &&
          e.code === "POD_INVALID" &&
          e.message.startsWith(`invalid pod: ${message}`) &&
          e.hint === "give a v1 Pod object as kube-apiserver sends it",
      );
    });
  }

  it("accepts a pod without containers (nothing to mount into, the volume is still added)", () => {
    const r = run({ metadata: {}, spec: {} });
    assert.deepEqual(
      r.patch.map((o) => o.path),
      ["/spec/volumes"],
    );
  });
});

describe("JSON Patch helpers", () => {
  it("escapes pointer tokens", () => {
    assert.equal(escapePointerToken("eks.amazonaws.com/pod-identity"), "eks.amazonaws.com~1pod-identity");
    assert.equal(escapePointerToken("a~b/c"), "a~0b~1c");
  });

  it("applies add operations as RFC 6902 does", () => {
    const doc: Json = { a: [1, 2], m: { "x/y": 1 } };
    const ops: PatchOperation[] = [
      { op: "add", path: "/a/0", value: 0 },
      { op: "add", path: "/a/-", value: 3 },
      { op: "add", path: "/m/a~1b", value: "s" },
      { op: "add", path: "/m/__proto__", value: { polluted: true } },
    ];
    applyAddOperations(doc, ops);
    assert.deepEqual(doc.a, [0, 1, 2, 3]);
    assert.equal((doc.m as Json)["a/b"], "s");
    assert.equal(Object.getPrototypeOf(doc.m), Object.prototype, "an own member, not the prototype");
    for (const path of ["/nope/x", "/a/9", "a", "/a/01"]) {
      assert.throws(() => {
        applyAddOperations(doc, [{ op: "add", path, value: 1 }]);
      }, IrsaError);
    }
  });
});

describe("JSON Patch add, rule by rule (RFC 6902 §4.1, RFC 6901)", () => {
  const apply = (doc: unknown, path: string, value: unknown): void => {
    applyAddOperations(doc, [{ op: "add", path, value }]);
  };
  const failsWith = (doc: unknown, path: string, message: string): void => {
    assert.throws(
      () => {
        apply(doc, path, 1);
      },
      (e: unknown) => e instanceof IrsaError && e.code === "INPUT_INVALID" && e.message === message,
    );
  };

  it("decodes ~1 before ~0, so ~01 is the member named ~1, and ~0 alone is ~", () => {
    const doc: Json = {};
    apply(doc, "/~01", "a");
    apply(doc, "/x~0y", "b");
    apply(doc, "/p~1q", "c");
    assert.deepEqual(doc, { "~1": "a", "x~y": "b", "p/q": "c" });
  });

  it("walks through array indexes and object members to the parent", () => {
    const doc: Json = { spec: { containers: [{ name: "a" }, { name: "b", env: [] }] } };
    apply(doc, "/spec/containers/1/env/-", { name: "X" });
    apply(doc, "/spec/containers/0/env", []);
    assert.deepEqual(doc, {
      spec: {
        containers: [
          { name: "a", env: [] },
          { name: "b", env: [{ name: "X" }] },
        ],
      },
    });
  });

  it("reads indexes of several digits, on the way and at the end", () => {
    const doc: Json = { a: Array.from({ length: 11 }, (_, i) => ({ i })) };
    apply(doc, "/a/10/x", "deep");
    apply(doc, "/a/10", "inserted");
    assert.deepEqual((doc.a as unknown[]).slice(9), [{ i: 9 }, "inserted", { i: 10, x: "deep" }]);
  });

  it("inserts at any index up to the array's length, which appends", () => {
    const doc: Json = { a: [1, 2] };
    apply(doc, "/a/2", 3);
    apply(doc, "/a/1", 9);
    assert.deepEqual(doc.a, [1, 9, 2, 3]);
  });

  it("says which step failed: a missing member, an index past the end, a bad index, a scalar parent", () => {
    const doc: Json = { a: [1, 2], s: "text", m: {} };
    failsWith(doc, "a", "cannot apply add at a: the path must start with /");
    failsWith(doc, "/nope/x", 'cannot apply add at /nope/x: no member "nope"');
    failsWith(doc, "/m/toString/x", 'cannot apply add at /m/toString/x: no member "toString"');
    failsWith(doc, "/a/2/x", 'cannot apply add at /a/2/x: no member "2"');
    failsWith(doc, "/a/01/x", 'cannot apply add at /a/01/x: no member "01"');
    failsWith(doc, "/a/1x/x", 'cannot apply add at /a/1x/x: no member "1x"');
    failsWith(doc, "/a/3", 'cannot apply add at /a/3: bad array index "3"');
    failsWith(doc, "/a/01", 'cannot apply add at /a/01: bad array index "01"');
    failsWith(doc, "/a/x1", 'cannot apply add at /a/x1: bad array index "x1"');
    failsWith(doc, "/a/1x", 'cannot apply add at /a/1x: bad array index "1x"');
    failsWith(doc, "/s/x", "cannot apply add at /s/x: the parent is not an object or array");
    assert.deepEqual(doc, { a: [1, 2], s: "text", m: {} }, "nothing was added");
  });

  it("adds a copy of the value: changing the operation's value later does not reach the document", () => {
    const value = { name: "X", list: [1] };
    const doc: Json = {};
    apply(doc, "/v", value);
    value.list.push(2);
    assert.deepEqual(doc.v, { name: "X", list: [1] });
  });

  it("adds an ordinary member: enumerable, writable and deletable", () => {
    const doc: Json = {};
    apply(doc, "/k", 1);
    assert.equal(JSON.stringify(doc), '{"k":1}');
    doc.k = 2;
    assert.equal(doc.k, 2);
    delete doc.k;
    assert.deepEqual(doc, {});
  });

  it("applies the operations in order, a later one seeing what an earlier one added", () => {
    const doc: Json = {};
    applyAddOperations(doc, [
      { op: "add", path: "/env", value: [] },
      { op: "add", path: "/env/-", value: "a" },
      { op: "add", path: "/env/0", value: "b" },
    ]);
    assert.deepEqual(doc, { env: ["b", "a"] });
  });
});

describe("Go parsers", () => {
  it("parses integers as strconv.ParseInt(s, 10, 64)", () => {
    const cases: [string, number | undefined][] = [
      ["3600", 3600],
      ["+3600", 3600],
      ["-1", -1],
      ["007", 7],
      ["9223372036854775807", Number(2n ** 63n - 1n)],
      ["9223372036854775808", undefined],
      ["-9223372036854775808", Number(-(2n ** 63n))],
      ["-9223372036854775809", undefined],
      ["", undefined],
      [" 1", undefined],
      ["1 ", undefined],
      ["1e3", undefined],
      ["0x10", undefined],
      ["1_000", undefined],
      ["3.5", undefined],
    ];
    for (const [s, want] of cases) assert.equal(parseGoInt64(s), want, s);
  });

  it("parses booleans as strconv.ParseBool", () => {
    for (const s of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(s), true, s);
    for (const s of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseGoBool(s), false, s);
    for (const s of ["", "yes", "tRUE", " true", "2"]) assert.equal(parseGoBool(s), undefined, s);
  });

  it("joins paths as filepath.Join", () => {
    const cases: [string[], string][] = [
      [["/var/run/x", "token"], "/var/run/x/token"],
      [["/var/run/x/", "token"], "/var/run/x/token"],
      [["/a//b/./c/..", "t"], "/a/b/t"],
      [["", "token"], "token"],
      [["", ""], ""],
      [["/", "../t"], "/t"],
      [["a", "../../t"], "../t"],
    ];
    for (const [elems, want] of cases) assert.equal(goJoinPath(...elems), want, elems.join(","));
    assert.equal(goCleanPath(""), ".");
  });

  it("cleans paths as path.Clean: `..` cancels only a name before it, and nothing left is `.`", () => {
    const cases: [string, string][] = [
      ["", "."],
      ["a/..", "."],
      ["./", "."],
      ["/..", "/"],
      ["../../t", "../../t"],
      ["a/b/../../../t", "../t"],
      ["a/../../b/..", ".."],
      ["/a/b/", "/a/b"],
      ["a//b", "a/b"],
    ];
    for (const [p, want] of cases) assert.equal(goCleanPath(p), want, p);
  });
});
