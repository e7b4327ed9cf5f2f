/**
 * CORAL_EVENTS as Coral's event store.
 *
 * - `append` publishes one event with a `Nats-Msg-Id` (de-duplication within the stream's window)
 *   and, when asked, the sequence the writer last saw on that subject: if someone else appended in
 *   between, the append fails with `AppendConflict` and nothing is written (the fence between two
 *   control planes that both think they lead).
 * - `replay` reads the stored events of some subjects from a sequence or a time, in order, and ends
 *   at the end of the stream as it was when the replay started. Messages that do not decode are
 *   returned as such, never hidden.
 * - `consume` runs a durable pull consumer with explicit acks: a handler's success acks, a
 *   retryable failure naks with a delay, and a message that cannot be decoded is terminated and
 *   recorded as a `PoisonEvent`, so it is never retried forever and never stops the consumer.
 */
import { randomUUID } from "node:crypto"
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiError,
  type JsMsg,
} from "@nats-io/jetstream"
import { Clock, Context, Data, Duration, Effect, Layer, Schema, Stream } from "effect"
import {
  CoralEvent,
  type CoralEventType,
  type EventOfType,
  type StoredEvent,
  schemaVersion,
} from "../domain/Events.ts"
import { eventSubjects, poisonSubject, streams } from "../domain/Subjects.ts"
import { Nats, type NatsOptions, layer as natsLayer } from "./Nats.ts"

export class AppendConflict extends Data.TaggedError("AppendConflict")<{
  readonly subject: string
  readonly expectedLastSequence: number
  readonly details: string
}> {
  override get message() {
    return `another writer appended to ${this.subject} after sequence ${this.expectedLastSequence}: ${this.details}`
  }
}

export class EventStoreFailed extends Data.TaggedError("EventStoreFailed")<{
  readonly operation: string
  readonly details: string
}> {
  override get message() {
    return `${this.operation} failed: ${this.details}`
  }
}

/** What a consumer's handler returns to have a message redelivered later. */
export class RetryLater extends Data.TaggedError("RetryLater")<{
  readonly reason: string
  readonly delay: Duration.Duration
}> {}

export type ReplayedMessage =
  | ({ readonly _tag: "Event"; readonly time: Date } & StoredEvent)
  | {
      readonly _tag: "Undecodable"
      readonly sequence: number
      readonly subject: string
      readonly time: Date
      readonly reason: string
    }

export interface ReplayOptions {
  readonly subjects: ReadonlyArray<string>
  readonly fromSequence?: number
  readonly since?: Date
}

export interface ConsumeOptions {
  /** Durable consumer name (survives restarts: the consumer resumes where it acknowledged). */
  readonly durable: string
  readonly subjects: ReadonlyArray<string>
  /** At most this many unacknowledged messages at once (the client also prefetches no more). */
  readonly maxAckPending?: number
  readonly ackWait?: Duration.Duration
  readonly maxDeliver?: number
}

export interface EventStoreShape {
  readonly append: (
    subject: string,
    event: CoralEvent,
    options: { readonly msgId: string; readonly expectedLastSubjectSequence?: number },
  ) => Effect.Effect<
    { readonly sequence: number; readonly duplicate: boolean },
    AppendConflict | EventStoreFailed
  >
  /** Sequence of the last event in the whole stream, 0 when it is empty. */
  readonly streamLastSequence: Effect.Effect<number, EventStoreFailed>
  /** Sequence of the last event on `subject`, 0 when there is none. */
  readonly lastSubjectSequence: (subject: string) => Effect.Effect<number, EventStoreFailed>
  /** The stored events, ending with the last one there was when the replay started. */
  readonly replay: (options: ReplayOptions) => Stream.Stream<ReplayedMessage, EventStoreFailed>
  /** The stored events, then new ones as they arrive; never ends. */
  readonly follow: (options: ReplayOptions) => Stream.Stream<ReplayedMessage, EventStoreFailed>
  readonly consume: <E, R>(
    options: ConsumeOptions,
    handler: (stored: StoredEvent) => Effect.Effect<void, RetryLater | E, R>,
  ) => Effect.Effect<never, EventStoreFailed | E, R>
}

export class EventStore extends Context.Service<EventStore, EventStoreShape>()("coral/eventlog/EventStore") {}

const encodeEvent = Schema.encodeUnknownSync(CoralEvent)
const decodeEvent = Schema.decodeUnknownEffect(CoralEvent)
const knownTypes = new Set<string>(CoralEvent.members.map((member) => member.fields.type.literal))

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** Decodes a stored payload; the error says which field is wrong, or that the type is unknown. */
export const decodePayload = (payload: Uint8Array): Effect.Effect<CoralEvent, string> =>
  Effect.gen(function* () {
    const json = yield* Effect.try({
      try: () => JSON.parse(new TextDecoder().decode(payload)) as unknown,
      catch: (cause) => `not JSON: ${describe(cause)}`,
    })
    const type = (json as { type?: unknown } | null)?.type
    if (typeof type !== "string" || !knownTypes.has(type)) {
      return yield* Effect.fail(`unknown event type ${JSON.stringify(type)}`)
    }
    return yield* decodeEvent(json).pipe(Effect.mapError((error) => `${type}: ${error.message}`))
  })

/** A new event envelope, stamped with the clock and a fresh id. */
export const makeEvent = <T extends CoralEventType>(
  type: T,
  data: EventOfType<T>["data"],
  context: { readonly cluster: string; readonly causationId?: string; readonly correlationId?: string },
): Effect.Effect<EventOfType<T>> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const id = randomUUID()
    return {
      id,
      type,
      cluster: context.cluster,
      occurredAt: new Date(now).toISOString(),
      correlationId: context.correlationId ?? id,
      ...(context.causationId ? { causationId: context.causationId } : {}),
      schemaVersion,
      data,
    } as EventOfType<T>
  })

const poisonHeadBytes = 4096

const defaults = { ackWait: Duration.seconds(30), maxDeliver: 20, maxAckPending: 64 }

export const make = (cluster: string): Effect.Effect<EventStoreShape, never, Nats> =>
  Effect.gen(function* () {
    const { js, jsm } = yield* Nats

    const append: EventStoreShape["append"] = (subject, event, options) =>
      Effect.tryPromise({
        try: () =>
          js.publish(subject, JSON.stringify(encodeEvent(event)), {
            msgID: options.msgId,
            ...(options.expectedLastSubjectSequence === undefined
              ? {}
              : { expect: { lastSubjectSequence: options.expectedLastSubjectSequence } }),
          }),
        catch: (cause) =>
          cause instanceof JetStreamApiError && cause.code === 10071
            ? new AppendConflict({
                subject,
                expectedLastSequence: options.expectedLastSubjectSequence ?? 0,
                details: cause.message,
              })
            : new EventStoreFailed({
                operation: `append ${event.type} to ${subject}`,
                // The client says "jetstream is not enabled" when no stream captures the subject.
                details: /jetstream is not enabled|no responders/i.test(describe(cause))
                  ? `no stream captures ${subject}: CORAL_EVENTS is provisioned by the control plane for its CORAL_CLUSTER — start it first, and check that both use the same cluster name`
                  : describe(cause),
              }),
      }).pipe(Effect.map((ack) => ({ sequence: ack.seq, duplicate: ack.duplicate })))

    const lastSubjectSequence: EventStoreShape["lastSubjectSequence"] = (subject) =>
      Effect.tryPromise({
        try: () => jsm.streams.getMessage(streams.events, { last_by_subj: subject }),
        catch: (cause) =>
          new EventStoreFailed({ operation: `read last sequence of ${subject}`, details: describe(cause) }),
      }).pipe(Effect.map((message) => message?.seq ?? 0))

    const streamLastSequence: EventStoreShape["streamLastSequence"] = Effect.tryPromise({
      try: () => jsm.streams.info(streams.events).then((info) => info.state.last_seq),
      catch: (cause) =>
        new EventStoreFailed({ operation: "read the stream's last sequence", details: describe(cause) }),
    })

    const toReplayed = (message: JsMsg): Effect.Effect<ReplayedMessage> => {
      const delivery = {
        sequence: message.seq,
        subject: message.subject,
        time: new Date(message.info.timestampNanos / 1_000_000),
        pending: message.info.pending,
      }
      return decodePayload(message.data).pipe(
        Effect.match({
          onSuccess: (event): ReplayedMessage => ({ _tag: "Event", ...delivery, event }),
          onFailure: (reason): ReplayedMessage => ({ _tag: "Undecodable", ...delivery, reason }),
        }),
      )
    }

    const read = (options: ReplayOptions, follow: boolean) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const failed = (cause: unknown) =>
            new EventStoreFailed({ operation: follow ? "follow" : "replay", details: describe(cause) })
          if (options.subjects.length === 0) {
            return yield* new EventStoreFailed({
              operation: "replay",
              details: "no subject filter was given",
            })
          }
          // Where a replay stops: the stream's end as it is now, whatever is appended meanwhile.
          const end = yield* streamLastSequence
          const consumer = yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: () =>
                js.consumers.get(streams.events, {
                  filter_subjects: [...options.subjects],
                  ...(options.fromSequence !== undefined
                    ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.fromSequence }
                    : options.since !== undefined
                      ? {
                          deliver_policy: DeliverPolicy.StartTime,
                          opt_start_time: options.since.toISOString(),
                        }
                      : { deliver_policy: DeliverPolicy.All }),
                }),
              catch: failed,
            }),
            // Ordered consumers otherwise linger on the server until their inactivity threshold.
            (c) => Effect.promise(() => c.delete().catch(() => false)),
          )
          const pending = yield* Effect.tryPromise({
            try: () => consumer.info().then((i) => i.num_pending),
            catch: failed,
          })
          if (pending === 0 && !follow) return Stream.empty
          const messages = yield* Effect.acquireRelease(
            Effect.tryPromise({ try: () => consumer.consume({ max_messages: 256 }), catch: failed }),
            (iterator) => Effect.promise(() => iterator.close().catch(() => undefined)),
          )
          const all = Stream.fromAsyncIterable(messages, failed)
          return (
            follow
              ? all
              : all.pipe(Stream.takeUntil((message) => message.info.pending === 0 || message.seq >= end))
          ).pipe(Stream.mapEffect(toReplayed))
        }),
      )

    const replay: EventStoreShape["replay"] = (options) => read(options, false)
    const follow: EventStoreShape["follow"] = (options) => read(options, true)

    const ensureConsumer = (options: ConsumeOptions) => {
      const config: Partial<ConsumerConfig> & { durable_name: string } = {
        durable_name: options.durable,
        filter_subjects: [...options.subjects],
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: Duration.toMillis(options.ackWait ?? defaults.ackWait) * 1_000_000,
        max_ack_pending: options.maxAckPending ?? defaults.maxAckPending,
        max_deliver: options.maxDeliver ?? defaults.maxDeliver,
      }
      return Effect.tryPromise({
        try: async () => {
          const existing = await jsm.consumers.info(streams.events, options.durable).catch(() => undefined)
          if (!existing) return jsm.consumers.add(streams.events, config)
          const { durable_name: _, ...updatable } = config
          return jsm.consumers.update(streams.events, options.durable, updatable)
        },
        catch: (cause) =>
          new EventStoreFailed({ operation: `create consumer ${options.durable}`, details: describe(cause) }),
      })
    }

    const setAside = (message: JsMsg, consumerName: string, reason: string) =>
      Effect.gen(function* () {
        const poison = yield* makeEvent(
          "PoisonEvent",
          {
            stream: streams.events,
            consumer: consumerName,
            subject: message.subject,
            sequence: message.seq,
            reason,
            payloadBytes: message.data.byteLength,
            payloadHeadBase64: Buffer.from(message.data.subarray(0, poisonHeadBytes)).toString("base64"),
          },
          { cluster },
        )
        yield* append(poisonSubject(cluster, consumerName), poison, {
          msgId: `poison:${consumerName}:${message.seq}`,
        }).pipe(
          Effect.mapError((error) =>
            error._tag === "AppendConflict"
              ? new EventStoreFailed({ operation: "record PoisonEvent", details: error.message })
              : error,
          ),
        )
        yield* Effect.logWarning("undecodable event set aside").pipe(
          Effect.annotateLogs({
            consumer: consumerName,
            subject: message.subject,
            sequence: message.seq,
            reason,
          }),
        )
        message.term(reason)
      })

    const consume: EventStoreShape["consume"] = (options, handler) =>
      Effect.scoped(
        Effect.gen(function* () {
          const ackWait = options.ackWait ?? defaults.ackWait
          const maxDeliver = options.maxDeliver ?? defaults.maxDeliver
          yield* ensureConsumer(options)
          const failed = (cause: unknown) =>
            new EventStoreFailed({ operation: `consume ${options.durable}`, details: describe(cause) })
          const consumer = yield* Effect.tryPromise({
            try: () => js.consumers.get(streams.events, options.durable),
            catch: failed,
          })
          const messages = yield* Effect.acquireRelease(
            Effect.tryPromise({
              // A small prefetch: buffered messages' ack timers already run.
              try: () =>
                consumer.consume({
                  max_messages: Math.min(options.maxAckPending ?? defaults.maxAckPending, 8),
                }),
              catch: failed,
            }),
            (iterator) => Effect.promise(() => iterator.close().catch(() => undefined)),
          )
          yield* Stream.fromAsyncIterable(messages, failed).pipe(
            Stream.runForEach((message) =>
              decodePayload(message.data).pipe(
                Effect.matchEffect({
                  onFailure: (reason) => setAside(message, options.durable, reason),
                  onSuccess: (event) =>
                    Effect.scoped(
                      Effect.gen(function* () {
                        // Long work keeps the message: tell the server before ack_wait runs out.
                        yield* Effect.forkScoped(
                          Effect.forever(
                            Effect.sleep(Duration.millis(Duration.toMillis(ackWait) / 2)).pipe(
                              Effect.andThen(Effect.sync(() => message.working())),
                            ),
                          ),
                        )
                        return yield* handler({ sequence: message.seq, subject: message.subject, event })
                      }),
                    ).pipe(
                      Effect.andThen(Effect.sync(() => message.ack())),
                      Effect.catchIf(
                        (error): error is RetryLater => error instanceof RetryLater,
                        (retry) =>
                          message.info.deliveryCount >= maxDeliver
                            ? setAside(
                                message,
                                options.durable,
                                `gave up after ${message.info.deliveryCount} deliveries: ${retry.reason}`,
                              )
                            : Effect.sync(() => message.nak(Duration.toMillis(retry.delay))),
                      ),
                    ),
                }),
              ),
            ),
          )
          return yield* new EventStoreFailed({
            operation: `consume ${options.durable}`,
            details: "the consumer's message iterator ended",
          })
        }),
      )

    return {
      append,
      streamLastSequence,
      lastSubjectSequence,
      replay,
      follow,
      consume,
    } satisfies EventStoreShape
  })

export const layerJetStream = (cluster: string) => Layer.effect(EventStore, make(cluster))

/** The event store and the NATS connection under it, as every Coral process and tool uses them. */
export const layerEventLog = (cluster: string, nats: NatsOptions) =>
  layerJetStream(cluster).pipe(Layer.provideMerge(natsLayer(nats)))

/**
 * Every event of one cluster, in stream order, for tools that rebuild state (audit, status,
 * verify). Undecodable messages are left out: the consumers that met them recorded PoisonEvents.
 */
export const replayHistory = (
  cluster: string,
): Effect.Effect<Array<StoredEvent>, EventStoreFailed, EventStore> =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const messages = yield* Stream.runCollect(store.replay({ subjects: eventSubjects(cluster) }))
    return messages.flatMap((m) =>
      m._tag === "Event" ? [{ sequence: m.sequence, subject: m.subject, event: m.event }] : [],
    )
  })
