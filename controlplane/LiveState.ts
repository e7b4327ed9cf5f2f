/**
 * The control plane's view of the world: the projection of CORAL_EVENTS, rebuilt from the start of
 * the stream at start-up and then kept current by following it. Decisions (plans, status) are made
 * from this state only, so the live control plane and a replay of the stream always agree.
 * `caughtUp` completes once every event that existed at start-up has been applied: before that the
 * state is incomplete, and nothing may be decided from it.
 */
import { Context, Deferred, Effect, Layer, Ref, type Scope, Stream, SubscriptionRef } from "effect"
import { applyEvent, emptyState, type State } from "../domain/Projection.ts"
import { eventSubjects } from "../domain/Subjects.ts"
import { EventStore, type EventStoreFailed } from "../eventlog/EventStore.ts"
import { supervise } from "../runtime/Supervise.ts"

export interface LiveStateShape {
  readonly state: SubscriptionRef.SubscriptionRef<State>
  readonly caughtUp: Effect.Effect<void>
}

export class LiveState extends Context.Service<LiveState, LiveStateShape>()("coral/controlplane/LiveState") {}

export const followState = (
  cluster: string,
): Effect.Effect<LiveStateShape, EventStoreFailed, EventStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const state = yield* SubscriptionRef.make(emptyState)
    const caughtUp = yield* Deferred.make<void>()
    const target = yield* store.streamLastSequence
    if (target === 0) yield* Deferred.succeed(caughtUp, undefined)
    const applied = yield* Ref.make(0)

    // Resumes after the last applied event when the subscription breaks.
    const follow = Effect.gen(function* () {
      const from = (yield* Ref.get(applied)) + 1
      yield* store.follow({ subjects: eventSubjects(cluster), fromSequence: from }).pipe(
        Stream.runForEach((message) =>
          Effect.gen(function* () {
            if (message._tag === "Event") {
              yield* SubscriptionRef.update(state, (current) => applyEvent(current, message))
            } else {
              yield* Effect.logWarning("undecodable event skipped by the projection").pipe(
                Effect.annotateLogs({
                  sequence: message.sequence,
                  subject: message.subject,
                  reason: message.reason,
                }),
              )
            }
            yield* Ref.set(applied, message.sequence)
            if (message.sequence >= target) yield* Deferred.succeed(caughtUp, undefined)
          }),
        ),
      )
    })
    yield* Effect.forkScoped(supervise("projection", follow))
    return { state, caughtUp: Deferred.await(caughtUp) }
  })

export const layer = (cluster: string) => Layer.effect(LiveState, followState(cluster))
