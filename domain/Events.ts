/**
 * Coral's events: what goes on the CORAL_EVENTS stream. Each is an envelope (`id`, `type`, `cluster`,
 * `occurredAt`, `causationId`, `correlationId`, `schemaVersion`) around typed `data`. Decoding is
 * strict: an event whose data does not match its type's schema fails with an error that names the
 * field, and the consumer sets it aside as a `PoisonEvent` instead of retrying it.
 */
import { Schema } from "effect"
import { ArtifactSyncSpec } from "./ArtifactSync.ts"
import { ImageSyncSpec } from "./ImageSync.ts"
import { MirrorSpec } from "./Mirror.ts"

export const schemaVersion = 1

const ResourceIdentity = {
  namespace: Schema.String,
  name: Schema.String,
}

const ObjectIdentity = {
  ...ResourceIdentity,
  uid: Schema.String,
}

const envelope = <const Type extends string, Data extends Schema.Top>(type: Type, data: Data) =>
  Schema.Struct({
    id: Schema.String,
    type: Schema.Literal(type),
    cluster: Schema.String,
    occurredAt: Schema.String,
    causationId: Schema.optionalKey(Schema.String),
    correlationId: Schema.optionalKey(Schema.String),
    schemaVersion: Schema.Literal(schemaVersion),
    data,
  })

/** Who changed a spec, from the object's `managedFields` and metadata. */
const Provenance = {
  generation: Schema.Int,
  resourceVersion: Schema.String,
  fieldManager: Schema.optionalKey(Schema.String),
}

export const ResourceApplied = envelope(
  "ResourceApplied",
  Schema.Union([
    Schema.Struct({
      kind: Schema.Literal("ImageSync"),
      ...ObjectIdentity,
      ...Provenance,
      spec: ImageSyncSpec,
    }),
    Schema.Struct({
      kind: Schema.Literal("ArtifactSync"),
      ...ObjectIdentity,
      ...Provenance,
      spec: ArtifactSyncSpec,
    }),
    Schema.Struct({ kind: Schema.Literal("Mirror"), ...ObjectIdentity, ...Provenance, spec: MirrorSpec }),
  ]),
)

export const ResourceKindField = Schema.Literals(["ImageSync", "ArtifactSync", "Mirror"])

export const ResourceDeleted = envelope(
  "ResourceDeleted",
  Schema.Struct({ kind: ResourceKindField, ...ObjectIdentity }),
)

export const Taint = Schema.Struct({
  key: Schema.String,
  value: Schema.optionalKey(Schema.String),
  effect: Schema.String,
})

export const NodeObserved = envelope(
  "NodeObserved",
  Schema.Struct({
    name: Schema.String,
    uid: Schema.String,
    labels: Schema.Record(Schema.String, Schema.String),
    ready: Schema.Boolean,
    diskPressure: Schema.Boolean,
    pidPressure: Schema.Boolean,
    unschedulable: Schema.Boolean,
    taints: Schema.Array(Taint),
  }),
)

export const NodeRemoved = envelope("NodeRemoved", Schema.Struct({ name: Schema.String, uid: Schema.String }))

export const PullPhase = Schema.Literals(["Pulling", "Ready", "Failed", "Removed"])
export type PullPhase = typeof PullPhase.Type

const Outcome = {
  phase: PullPhase,
  sizeBytes: Schema.optionalKey(Schema.Number),
  durationMs: Schema.optionalKey(Schema.Number),
  /** A short CamelCase cause for Failed/Removed, e.g. `ImageNotFound`, `Unauthorized`, `Timeout`. */
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
}

export const ImageStatusReported = envelope(
  "ImageStatusReported",
  Schema.Struct({
    node: Schema.String,
    ...ResourceIdentity,
    /** uid of the ImageSync the agent was working for (reports of a deleted incarnation are ignored). */
    resourceUid: Schema.optionalKey(Schema.String),
    /** Canonical reference, as normalised by `ImageReference`. */
    image: Schema.String,
    digest: Schema.optionalKey(Schema.String),
    ...Outcome,
  }),
)

export const ArtifactStatusReported = envelope(
  "ArtifactStatusReported",
  Schema.Struct({
    node: Schema.String,
    ...ResourceIdentity,
    resourceUid: Schema.optionalKey(Schema.String),
    artifact: Schema.String,
    sha256: Schema.optionalKey(Schema.String),
    ...Outcome,
  }),
)

const MirrorJob = {
  ...ResourceIdentity,
  jobId: Schema.String,
  source: Schema.String,
  target: Schema.String,
}

export const MirrorJobRequested = envelope(
  "MirrorJobRequested",
  Schema.Struct({ ...MirrorJob, attempt: Schema.Int }),
)

export const MirrorJobProgress = envelope(
  "MirrorJobProgress",
  Schema.Struct({ ...MirrorJob, bytesCopied: Schema.Number, bytesTotal: Schema.optionalKey(Schema.Number) }),
)

export const MirrorJobSucceeded = envelope(
  "MirrorJobSucceeded",
  Schema.Struct({ ...MirrorJob, digest: Schema.String, bytes: Schema.Number, durationMs: Schema.Number }),
)

export const MirrorJobFailed = envelope(
  "MirrorJobFailed",
  Schema.Struct({ ...MirrorJob, reason: Schema.String, message: Schema.String, retryable: Schema.Boolean }),
)

/** The control plane wrote a resource's status: the audit log records each write and what it said. */
export const StatusWritten = envelope(
  "StatusWritten",
  Schema.Struct({
    kind: ResourceKindField,
    ...ResourceIdentity,
    generation: Schema.Int,
    desiredNodes: Schema.Int,
    readyNodes: Schema.Int,
    failedNodes: Schema.Int,
    /** The stream sequence the written status reflects (its `lastEventSequence`). */
    reflectsSequence: Schema.Int,
  }),
)

/** A node agent announces itself and the public key (NATS xkey) its pull credentials are sealed to. */
export const AgentRegistered = envelope(
  "AgentRegistered",
  Schema.Struct({ node: Schema.String, publicKey: Schema.String, version: Schema.String }),
)

/** A message a consumer could not decode, set aside with why (and the first bytes, for inspection). */
export const PoisonEvent = envelope(
  "PoisonEvent",
  Schema.Struct({
    stream: Schema.String,
    consumer: Schema.String,
    subject: Schema.String,
    sequence: Schema.Number,
    reason: Schema.String,
    payloadBytes: Schema.Number,
    payloadHeadBase64: Schema.String,
  }),
)

export const CoralEvent = Schema.Union([
  ResourceApplied,
  ResourceDeleted,
  NodeObserved,
  NodeRemoved,
  ImageStatusReported,
  ArtifactStatusReported,
  MirrorJobRequested,
  MirrorJobProgress,
  MirrorJobSucceeded,
  MirrorJobFailed,
  AgentRegistered,
  StatusWritten,
  PoisonEvent,
])
export type CoralEvent = typeof CoralEvent.Type
export type CoralEventType = CoralEvent["type"]
export type EventOfType<T extends CoralEventType> = Extract<CoralEvent, { readonly type: T }>

/** An event with its place in the stream. */
export interface StoredEvent {
  readonly sequence: number
  readonly subject: string
  readonly event: CoralEvent
}
