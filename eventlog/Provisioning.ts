/**
 * Creates Coral's streams and KV buckets, or brings their configuration back to what Coral expects
 * when it drifted — idempotently, at every start-up. It never deletes a stream, a bucket or a
 * message: where a setting cannot be changed in place (storage type, retention), it stops with an
 * error that says what differs, and leaves the data alone.
 */
import {
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { Data, Duration, Effect } from "effect"
import { buckets, eventSubjects, streams, workSubjects } from "../domain/Subjects.ts"
import { Nats } from "./Nats.ts"

export class ProvisioningFailed extends Data.TaggedError("ProvisioningFailed")<{
  readonly resource: string
  readonly details: string
}> {
  override get message() {
    return `cannot provision ${this.resource}: ${this.details}`
  }
}

export interface EventLogSettings {
  readonly cluster: string
  /** JetStream replicas of every stream and bucket (1 for a single server, 3 for a cluster). */
  readonly replicas: number
  /** How long the audit log keeps events. */
  readonly maxAge: Duration.Duration
  /** How long `Nats-Msg-Id` de-duplication remembers an id. */
  readonly duplicateWindow: Duration.Duration
}

export const defaultEventLogSettings = (cluster: string): EventLogSettings => ({
  cluster,
  replicas: 1,
  maxAge: Duration.days(365),
  duplicateWindow: Duration.minutes(2),
})

const nanos = (duration: Duration.Duration) => Duration.toMillis(duration) * 1_000_000

/** The stream configurations Coral wants, as pure data. */
export const desiredStreams = (
  settings: EventLogSettings,
): ReadonlyArray<Partial<StreamConfig> & { name: string }> => [
  {
    name: streams.events,
    subjects: eventSubjects(settings.cluster),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: settings.replicas,
    max_age: nanos(settings.maxAge),
    duplicate_window: nanos(settings.duplicateWindow),
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
  },
  {
    name: streams.work,
    subjects: workSubjects(settings.cluster),
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: settings.replicas,
    duplicate_window: nanos(settings.duplicateWindow),
  },
]

const immutable = ["storage", "retention"] as const

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

const notFound = (error: unknown) => error instanceof JetStreamApiError && error.code === 10059

const ensureStream = (jsm: JetStreamManager, desired: Partial<StreamConfig> & { name: string }) =>
  Effect.gen(function* () {
    const failed = (cause: unknown) =>
      new ProvisioningFailed({
        resource: `stream ${desired.name}`,
        details: cause instanceof Error ? cause.message : String(cause),
      })
    const current = yield* Effect.tryPromise({
      try: () =>
        jsm.streams
          .info(desired.name)
          .catch((error) => (notFound(error) ? undefined : Promise.reject(error))),
      catch: failed,
    })
    if (!current) {
      yield* Effect.tryPromise({ try: () => jsm.streams.add(desired), catch: failed })
      return "created" as const
    }
    const config = current.config as unknown as Record<string, unknown>
    for (const key of immutable) {
      if (desired[key] !== undefined && !sameValue(config[key], desired[key])) {
        return yield* new ProvisioningFailed({
          resource: `stream ${desired.name}`,
          details: `it exists with ${key}=${String(config[key])} but Coral needs ${key}=${String(desired[key])}; JetStream cannot change that in place and Coral never deletes events — migrate the stream by hand`,
        })
      }
    }
    // Several clusters may share one NATS: keep the subjects others added, add ours.
    const subjects = [...new Set([...(current.config.subjects ?? []), ...(desired.subjects ?? [])])]
    const wanted = { ...desired, subjects }
    const drifted = Object.entries(wanted).filter(([key, value]) => !sameValue(config[key], value))
    if (drifted.length === 0) return "unchanged" as const
    yield* Effect.tryPromise({
      try: () => jsm.streams.update(desired.name, { ...current.config, ...wanted }),
      catch: failed,
    })
    return "updated" as const
  })

const ensureBucket = (jsm: JetStreamManager, kvm: Kvm, name: string, history: number, replicas: number) =>
  Effect.gen(function* () {
    const failed = (cause: unknown) =>
      new ProvisioningFailed({
        resource: `KV bucket ${name}`,
        details: cause instanceof Error ? cause.message : String(cause),
      })
    const streamName = `KV_${name}`
    const current = yield* Effect.tryPromise({
      try: () =>
        jsm.streams.info(streamName).catch((error) => (notFound(error) ? undefined : Promise.reject(error))),
      catch: failed,
    })
    if (!current) {
      // Direct gets put the key in the request subject, so per-node permissions can cover reads.
      yield* Effect.tryPromise({
        try: () => kvm.create(name, { history, replicas, allow_direct: true }),
        catch: failed,
      })
      return
    }
    if (
      current.config.max_msgs_per_subject !== history ||
      current.config.num_replicas !== replicas ||
      current.config.allow_direct !== true
    ) {
      yield* Effect.tryPromise({
        try: () =>
          jsm.streams.update(streamName, {
            ...current.config,
            max_msgs_per_subject: history,
            num_replicas: replicas,
            allow_direct: true,
          }),
        catch: failed,
      })
    }
  })

/** Creates or repairs CORAL_EVENTS, CORAL_WORK and the KV buckets. */
export const provisionEventLog = (
  settings: EventLogSettings,
): Effect.Effect<void, ProvisioningFailed, Nats> =>
  Effect.gen(function* () {
    const { jsm, connection } = yield* Nats
    for (const desired of desiredStreams(settings)) {
      const outcome = yield* ensureStream(jsm, desired)
      yield* Effect.logDebug("stream provisioned").pipe(
        Effect.annotateLogs({ stream: desired.name, outcome }),
      )
    }
    const kvm = new Kvm(connection)
    yield* ensureBucket(jsm, kvm, buckets.desired, 5, settings.replicas)
    yield* ensureBucket(jsm, kvm, buckets.projections, 1, settings.replicas)
  })
