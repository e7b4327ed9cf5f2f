/**
 * Coral's generated CRDs on the real API server: every example is accepted, the server's defaults
 * equal the domain's, and a table of invalid resources is rejected with a message that names the
 * field. The committed manifests equal what the generator produces.
 */
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { CustomObjectsApi } from "@kubernetes/client-node"
import { Effect, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { ArtifactSyncSpec } from "../../domain/ArtifactSync.ts"
import { ImageSyncSpec } from "../../domain/ImageSync.ts"
import { MirrorSpec } from "../../domain/Mirror.ts"
import { group, kinds, version } from "../../infra/crd/definitions.ts"
import { crdDirectory, renderCrds } from "../../infra/crd/generate.ts"
import { installCrds } from "../../infra/crd/install.ts"
import { toKubeRequestFailed } from "../../k8s/KubeRequest.ts"
import { kubeConfig } from "../support/sharedServers.ts"

const namespace = "default"
const examplesDirectory = new URL("../../examples/", import.meta.url)
const plural = (kind: string) => kinds.find((k) => k.kind === kind)?.plural ?? "unknown"
const hex64 = "0123456789abcdef".repeat(4)

const custom = () => kubeConfig().makeApiClient(CustomObjectsApi)

const create = (kind: string, spec: unknown, name = `t-${randomUUID().slice(0, 8)}`) =>
  custom().createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: plural(kind),
    body: { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec },
  }) as Promise<{ spec: unknown }>

/** The API server's rejection of `spec`, or a failure if it accepted it. */
const rejection = async (kind: string, spec: unknown) => {
  try {
    await create(kind, spec)
  } catch (error) {
    return toKubeRequestFailed("create", error)
  }
  throw new Error(`the API server accepted an invalid ${kind}: ${JSON.stringify(spec)}`)
}

const imageSync = (overrides: Record<string, unknown>) => ({ images: ["nginx:1.27"], ...overrides })
const artifact = (overrides: Record<string, unknown>) => ({
  name: "file",
  url: "https://example.com/file",
  sha256: hex64,
  ...overrides,
})
const artifactSync = (overrides: Record<string, unknown>) => ({ artifacts: [artifact(overrides)] })
const mirror = (overrides: Record<string, unknown>) => ({
  target: { registry: "registry.internal:5000" },
  images: ["nginx:1.27"],
  ...overrides,
})

// [what is wrong, kind, spec, field the message must name, what the message must say]
const invalid: ReadonlyArray<readonly [string, string, unknown, string, string]> = [
  ["empty image list", "ImageSync", { images: [] }, "spec.images", "should have at least 1 items"],
  ["no image list", "ImageSync", { parallelism: 2 }, "spec.images", "Required value"],
  ["image of the wrong type", "ImageSync", { images: [42] }, "spec.images[0]", "must be of type string"],
  [
    "uppercase repository",
    "ImageSync",
    imageSync({ images: ["NGINX"] }),
    "spec.images[0]",
    "is not an image reference",
  ],
  [
    "short sha256 digest",
    "ImageSync",
    imageSync({ images: [`nginx@sha256:${hex64.slice(0, 40)}`] }),
    "spec.images[0]",
    "malformed digest",
  ],
  ["bare image id", "ImageSync", imageSync({ images: [hex64] }), "spec.images[0]", "bare image id"],
  [
    "sha512 digest of sha256 length",
    "ImageSync",
    imageSync({ images: [`nginx@sha512:${hex64}`] }),
    "spec.images[0]",
    "malformed digest",
  ],
  [
    "integer beyond what Coral can represent",
    "ImageSync",
    imageSync({ replicas: 2 ** 62 }),
    "spec.replicas",
    "less than or equal to",
  ],
  [
    "zero parallelism",
    "ImageSync",
    imageSync({ parallelism: 0 }),
    "spec.parallelism",
    "greater than or equal to 1",
  ],
  [
    "negative parallelism",
    "ImageSync",
    imageSync({ parallelism: -3 }),
    "spec.parallelism",
    "greater than or equal to 1",
  ],
  [
    "unknown pull policy",
    "ImageSync",
    imageSync({ pullPolicy: "Never" }),
    "spec.pullPolicy",
    'Unsupported value: "Never"',
  ],
  [
    "unknown selector operator",
    "ImageSync",
    imageSync({ nodeSelector: { matchExpressions: [{ key: "zone", operator: "Matches", values: ["a"] }] } }),
    "spec.nodeSelector.matchExpressions[0].operator",
    'Unsupported value: "Matches"',
  ],
  [
    "In without values",
    "ImageSync",
    imageSync({ nodeSelector: { matchExpressions: [{ key: "zone", operator: "In" }] } }),
    "spec.nodeSelector.matchExpressions[0]",
    "values must be non-empty for In and NotIn",
  ],
  [
    "malformed label key",
    "ImageSync",
    imageSync({ nodeSelector: { matchLabels: { "bad key!": "x" } } }),
    "spec.nodeSelector.matchLabels",
    "every key must be a label key",
  ],
  [
    "label name over 63 characters",
    "ImageSync",
    imageSync({ nodeSelector: { matchExpressions: [{ key: `a/${"n".repeat(64)}`, operator: "Exists" }] } }),
    "spec.nodeSelector.matchExpressions[0].key",
    "should match",
  ],
  [
    "zero pull timeout",
    "ImageSync",
    imageSync({ pullTimeout: "0s" }),
    "spec.pullTimeout",
    "must be greater than zero",
  ],
  [
    "back-off max shorter than base",
    "ImageSync",
    imageSync({ backoff: { base: "1m", max: "10s" } }),
    "spec.backoff",
    "max must not be shorter than base",
  ],
  [
    "duration in words",
    "ImageSync",
    imageSync({ pullTimeout: "10 minutes" }),
    "spec.pullTimeout",
    "should match",
  ],
  [
    "replicas as text",
    "ImageSync",
    imageSync({ replicas: "two" }),
    "spec.replicas",
    "must be of type integer",
  ],
  ["suspend as text", "ImageSync", imageSync({ suspend: "yes" }), "spec.suspend", "must be of type boolean"],
  [
    "secret name with capitals",
    "ImageSync",
    imageSync({ imagePullSecrets: [{ name: "Bad_Name" }] }),
    "spec.imagePullSecrets[0].name",
    "should match",
  ],
  [
    "ftp URL",
    "ArtifactSync",
    artifactSync({ url: "ftp://example.com/f" }),
    "spec.artifacts[0].url",
    "should match",
  ],
  [
    "both sha256 and digest",
    "ArtifactSync",
    artifactSync({ digest: `sha256:${hex64}` }),
    "spec.artifacts[0]",
    "give exactly one of sha256 and digest",
  ],
  [
    "unknown extract",
    "ArtifactSync",
    artifactSync({ extract: "zip" }),
    "spec.artifacts[0].extract",
    "Unsupported value",
  ],
  [
    "s3 settings on an https URL",
    "ArtifactSync",
    artifactSync({ s3: { region: "eu-west-1" } }),
    "spec.artifacts[0]",
    "s3 settings apply only to s3:// URLs",
  ],
  [
    "two artifacts with one name",
    "ArtifactSync",
    { artifacts: [artifact({}), artifact({ url: "https://example.com/other" })] },
    "spec.artifacts[1]",
    "Duplicate value",
  ],
  [
    "relative mount path",
    "ArtifactSync",
    { ...artifactSync({}), mount: { podSelector: {}, mountPath: "models" } },
    "spec.mount.mountPath",
    "should match",
  ],
  [
    "mirror of nothing",
    "Mirror",
    { target: { registry: "registry.internal" } },
    "spec",
    "a Mirror needs at least one entry in images or repositories",
  ],
  [
    "tag pattern that does not compile",
    "Mirror",
    mirror({ repositories: [{ name: "docker.io/library/redis", tagPattern: "([0-9]+" }] }),
    "spec.repositories[0].tagPattern",
    "missing closing ): `([0-9]+` evaluating rule: tagPattern must be a valid regular expression",
  ],
  [
    "repository without a tag filter",
    "Mirror",
    mirror({ repositories: [{ name: "docker.io/library/redis" }] }),
    "spec.repositories[0]",
    "choose tags with at least one of",
  ],
  [
    "semver that is not a range",
    "Mirror",
    mirror({ repositories: [{ name: "redis", semver: "newest" }] }),
    "spec.repositories[0].semver",
    "is not a semantic-version range",
  ],
  [
    "all with other platforms",
    "Mirror",
    mirror({ platforms: ["all", "linux/amd64"] }),
    "spec.platforms",
    "'all' cannot be combined with other platforms",
  ],
  [
    "platform without architecture",
    "Mirror",
    mirror({ platforms: ["windows"] }),
    "spec.platforms[0]",
    "should match",
  ],
  [
    "target registry with a scheme",
    "Mirror",
    mirror({ target: { registry: "https://registry.internal" } }),
    "spec.target.registry",
    "should match",
  ],
]

describe("Coral's CRDs on the real API server", () => {
  beforeAll(() => Effect.runPromise(installCrds(kubeConfig())))

  it("are what the generator produces from the domain schemas (no drift)", () => {
    for (const [file, text] of renderCrds()) {
      expect(readFileSync(`${crdDirectory}${file}`, "utf8"), `${file}: run npm run gen:crds`).toBe(text)
    }
    expect(readdirSync(crdDirectory).sort()).toEqual([...renderCrds().keys()].sort())
  })

  it("accept every example under examples/", async () => {
    const files = readdirSync(examplesDirectory).filter((file) => file.endsWith(".yaml"))
    expect(files.length).toBeGreaterThanOrEqual(3)
    for (const file of files) {
      const example = parse(readFileSync(new URL(file, examplesDirectory), "utf8")) as {
        kind: string
        spec: unknown
      }
      await expect(create(example.kind, example.spec), file).resolves.toBeDefined()
    }
  })

  it("default a minimal resource exactly as the domain's decoding does", async () => {
    const minimal: ReadonlyArray<readonly [string, Schema.Top, unknown]> = [
      ["ImageSync", ImageSyncSpec, { images: ["nginx"] }],
      [
        "ArtifactSync",
        ArtifactSyncSpec,
        { artifacts: [artifact({})], mount: { podSelector: {}, mountPath: "/m" } },
      ],
      ["Mirror", MirrorSpec, mirror({})],
    ]
    for (const [kind, schema, spec] of minimal) {
      const stored = await create(kind, spec)
      const decoded = Schema.decodeUnknownSync(schema as Schema.Codec<unknown, unknown>)(spec)
      expect(stored.spec, kind).toEqual(decoded)
    }
  })

  it.each(invalid)("reject %s", async (_, kind, spec, field, says) => {
    const error = await rejection(kind, spec)
    expect(error.status).toBe(422)
    expect(error.details).toContain(`${field}:`)
    expect(error.details).toContain(says)
  })
})
