/**
 * `ArtifactSync` (coral.stvz.io/v1alpha1): files from HTTP(S) or S3, verified by digest and placed
 * on selected nodes under `/var/lib/coral/artifacts/<namespace>/<name>/`; pods matching `mount`
 * get them as a host-path volume.
 */
import { Schema } from "effect"
import { RecentFailure } from "./ImageSync.ts"
import {
  defaulted,
  LocalObjectReference,
  NodeSelector,
  NonNegativeInt,
  PositiveInt,
  statusBase,
  withRules,
} from "./KubernetesSchema.ts"

export const Extract = Schema.Literals(["none", "tar", "tar.gz"])

export const S3Source = Schema.Struct({
  endpoint: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(512),
      Schema.isPattern(/^https?:\/\/[^\s]+$/u, { expected: "an http(s) URL" }),
    ),
  ).annotate({ description: "S3-compatible endpoint; omitted means AWS." }),
  region: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(64))),
  credentialsSecret: Schema.optionalKey(LocalObjectReference).annotate({
    description:
      "Secret with accessKeyId and secretAccessKey; omitted means the default AWS credential chain.",
  }),
})

export const Artifact = Schema.Struct({
  name: Schema.String.check(
    Schema.isMinLength(1),
    Schema.isMaxLength(253),
    Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/u, { expected: "a file name (letters, digits, . _ -)" }),
  ).annotate({ description: "File name on the node, unique in this ArtifactSync." }),
  url: Schema.String.check(
    Schema.isMaxLength(2048),
    Schema.isPattern(/^(?:https?:\/\/[^\s/]+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/)[^\s]*$/u, {
      expected: "an https://, http:// or s3://bucket/key URL",
    }),
  ),
  sha256: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[a-f0-9]{64}$/u, { expected: "64 lowercase hex characters" })),
  ),
  digest: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(/^sha256:[a-f0-9]{64}$/u, { expected: "sha256:<64 lowercase hex>" }),
    ),
  ),
  size: Schema.optionalKey(NonNegativeInt).annotate({
    description: "Expected size in bytes, checked before the digest.",
  }),
  extract: defaulted(Extract, "none"),
  s3: Schema.optionalKey(S3Source),
  headersSecret: Schema.optionalKey(LocalObjectReference).annotate({
    description: "Secret whose keys are HTTP header names sent with the download (for tokens).",
  }),
}).annotate(
  withRules(
    { rule: "has(self.sha256) != has(self.digest)", message: "give exactly one of sha256 and digest" },
    {
      rule: "!has(self.s3) || self.url.startsWith('s3://')",
      message: "s3 settings apply only to s3:// URLs",
    },
  ),
)

export const Mount = Schema.Struct({
  podSelector: Schema.Struct({
    matchLabels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  }).annotate({ description: "Pods (in this namespace) that get the artifacts mounted." }),
  mountPath: Schema.String.check(
    Schema.isMaxLength(4096),
    Schema.isPattern(/^\/[^\s]*$/u, { expected: "an absolute path" }),
  ),
  readOnly: defaulted(Schema.Boolean, true),
})

export const ArtifactSyncSpec = Schema.Struct({
  artifacts: Schema.Array(Artifact)
    .check(Schema.isMinLength(1), Schema.isMaxLength(64))
    .annotate({ kubernetes: { listType: "map", listMapKeys: ["name"] } }),
  nodeSelector: Schema.optionalKey(NodeSelector),
  parallelism: defaulted(PositiveInt, 10),
  mount: Schema.optionalKey(Mount),
  suspend: defaulted(Schema.Boolean, false),
})
export type ArtifactSyncSpec = typeof ArtifactSyncSpec.Type

export const ArtifactSummary = Schema.Struct({
  name: Schema.String,
  ready: NonNegativeInt,
  pulling: NonNegativeInt,
  failed: NonNegativeInt,
})

export const ArtifactSyncStatus = Schema.Struct({
  ...statusBase,
  desiredNodes: Schema.optionalKey(NonNegativeInt),
  readyNodes: Schema.optionalKey(NonNegativeInt),
  pullingNodes: Schema.optionalKey(NonNegativeInt),
  failedNodes: Schema.optionalKey(NonNegativeInt),
  artifacts: Schema.optionalKey(Schema.Array(ArtifactSummary)),
  recentFailures: Schema.optionalKey(Schema.Array(RecentFailure).check(Schema.isMaxLength(20))),
})
export type ArtifactSyncStatus = typeof ArtifactSyncStatus.Type
