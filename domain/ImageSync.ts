/**
 * `ImageSync` (coral.stvz.io/v1alpha1): which images to keep on which nodes, and how hard to try.
 * Its status reports per node and per image what Coral observed, and the stream sequence it reflects.
 */
import { Schema } from "effect"
import { imageReferencePattern } from "./ImageReference.ts"
import {
  Backoff,
  DurationString,
  defaulted,
  LocalObjectReference,
  NodeSelector,
  NonNegativeInt,
  ObjectName,
  PositiveInt,
  statusBase,
  withRules,
} from "./KubernetesSchema.ts"

/** An image reference field, checked by the API server with the same grammar Coral parses. */
export const ImageReferenceField = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(512),
).annotate(
  withRules(
    {
      rule: `self.matches('${imageReferencePattern.replaceAll("\\", "\\\\")}')`,
      messageExpression: `"'" + self + "' is not an image reference: expected [registry[:port]/]repository[:tag][@sha256:<64 hex>], repository in lowercase"`,
    },
    {
      rule: "!self.matches('^[a-f0-9]{64}$')",
      messageExpression: `"'" + self + "' is a bare image id; use repository@sha256:<id> instead"`,
    },
    {
      rule: "!self.contains('@') || self.matches('@(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$')",
      messageExpression: `"'" + self + "' has a malformed digest: use sha256 (64), sha384 (96) or sha512 (128) lowercase hex characters"`,
    },
  ),
)

export const PullPolicy = Schema.Literals(["IfNotPresent", "Always"])

export const ImageSyncSpec = Schema.Struct({
  images: Schema.Array(ImageReferenceField)
    .check(Schema.isMinLength(1), Schema.isMaxLength(256))
    .annotate({
      description:
        "Images to keep on the selected nodes: repo:tag, repo@sha256:…, or repo:tag@sha256:…; Docker Hub short names are normalised as the kubelet does.",
      kubernetes: { listType: "set" },
    }),
  nodeSelector: Schema.optionalKey(NodeSelector).annotate({
    description: "Nodes to prefetch to; omitted or empty means every node.",
  }),
  nodeNames: Schema.optionalKey(
    Schema.Array(ObjectName)
      .check(Schema.isMaxLength(5000))
      .annotate({
        description: "Only these nodes (and only those that also match nodeSelector).",
        kubernetes: { listType: "set" },
      }),
  ),
  replicas: Schema.optionalKey(PositiveInt).annotate({
    description: "Prefetch to only this many of the matching nodes, spread deterministically.",
  }),
  imagePullSecrets: Schema.optionalKey(
    Schema.Array(LocalObjectReference).check(Schema.isMaxLength(16)).annotate({
      description: "kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg secrets in this namespace.",
    }),
  ),
  pullPolicy: defaulted(PullPolicy, "IfNotPresent").annotate({
    description: "Always re-resolves tags every refreshInterval and pulls what moved.",
  }),
  refreshInterval: defaulted(DurationString, "15m").annotate({
    description: "How often tags are re-resolved when pullPolicy is Always.",
  }),
  parallelism: defaulted(PositiveInt, 10).annotate({ description: "How many nodes pull at once." }),
  pullTimeout: defaulted(DurationString, "10m").annotate({
    description: "Deadline of one image pull on one node.",
  }),
  backoff: defaulted(Backoff, {}),
  suspend: defaulted(Schema.Boolean, false).annotate({
    description: "Stops new pulls; images already on nodes stay.",
  }),
})
export type ImageSyncSpec = typeof ImageSyncSpec.Type

export const ImageSummary = Schema.Struct({
  image: Schema.String,
  digest: Schema.optionalKey(Schema.String),
  ready: NonNegativeInt,
  pulling: NonNegativeInt,
  failed: NonNegativeInt,
})

export const RecentFailure = Schema.Struct({
  node: Schema.String,
  image: Schema.String,
  reason: Schema.String,
  message: Schema.String,
  since: Schema.String,
})

export const ImageSyncStatus = Schema.Struct({
  ...statusBase,
  desiredNodes: Schema.optionalKey(NonNegativeInt),
  readyNodes: Schema.optionalKey(NonNegativeInt),
  pullingNodes: Schema.optionalKey(NonNegativeInt),
  failedNodes: Schema.optionalKey(NonNegativeInt),
  images: Schema.optionalKey(Schema.Array(ImageSummary)),
  recentFailures: Schema.optionalKey(
    Schema.Array(RecentFailure)
      .check(Schema.isMaxLength(20))
      .annotate({ description: "The most recent failures, newest first." }),
  ),
})
export type ImageSyncStatus = typeof ImageSyncStatus.Type
