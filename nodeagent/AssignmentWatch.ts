/**
 * This node's assignments, from the `coral_desired` bucket: a snapshot of its keys, then a watch
 * from the revision the snapshot was taken at, so no change between the two is lost. When the watch
 * breaks (a server restart, a lost connection) it is started again the same way, and the snapshot
 * replaces the map — a key deleted while disconnected disappears too. Values that cannot be decoded
 * are left out and logged (they never stop the watch).
 */
import type { KV, KvEntry } from "@nats-io/kv"
import { Data, Effect, type Scope, Stream, SubscriptionRef } from "effect"
import type { AssignmentValue } from "../controlplane/AssignmentPublisher.ts"
import { desiredKeysOfNode } from "../domain/Subjects.ts"
import { supervise } from "../runtime/Supervise.ts"

export class WatchFailed extends Data.TaggedError("WatchFailed")<{ readonly details: string }> {}

export type Assignments = ReadonlyMap<string, AssignmentValue>

interface Tracked {
  readonly revision: number
  readonly value: AssignmentValue
}

const decode = (entry: KvEntry): AssignmentValue | undefined => {
  try {
    const value = entry.json<AssignmentValue>()
    return value && typeof value === "object" && "assignment" in value ? value : undefined
  } catch {
    return undefined
  }
}

export const watchAssignments = (
  kv: KV,
  cluster: string,
  node: string,
): Effect.Effect<SubscriptionRef.SubscriptionRef<Assignments>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const ref = yield* SubscriptionRef.make<Assignments>(new Map())
    const filter = desiredKeysOfNode(cluster, node)
    const failed = (cause: unknown) =>
      new WatchFailed({ details: cause instanceof Error ? cause.message : String(cause) })

    const session = Effect.gen(function* () {
      const tracked = new Map<string, Tracked>()
      const apply = (entry: KvEntry) =>
        Effect.gen(function* () {
          const current = tracked.get(entry.key)
          if (current && current.revision >= entry.revision) return
          if (entry.operation !== "PUT") {
            tracked.delete(entry.key)
          } else {
            const value = decode(entry)
            if (!value) {
              yield* Effect.logWarning("undecodable assignment ignored").pipe(
                Effect.annotateLogs({ key: entry.key }),
              )
              tracked.delete(entry.key)
            } else {
              tracked.set(entry.key, { revision: entry.revision, value })
            }
          }
        })
      const publish = Effect.suspend(() =>
        SubscriptionRef.set(ref, new Map([...tracked].map(([key, t]) => [key, t.value]))),
      )

      const since = yield* Effect.tryPromise({
        try: () => kv.status().then((status) => status.streamInfo.state.last_seq),
        catch: failed,
      })
      const snapshot = yield* Effect.tryPromise({
        try: async () => {
          const entries: Array<KvEntry> = []
          for await (const key of await kv.keys(filter)) {
            const entry = await kv.get(key)
            if (entry) entries.push(entry)
          }
          return entries
        },
        catch: failed,
      })
      for (const entry of snapshot) yield* apply(entry)
      yield* publish
      const watch = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => kv.watch({ key: filter, resumeFromRevision: since + 1 }),
          catch: failed,
        }),
        (iterator) => Effect.sync(() => iterator.stop()),
      )
      yield* Stream.fromAsyncIterable(watch, failed).pipe(
        Stream.runForEach((entry) => Effect.andThen(apply(entry), publish)),
      )
      return yield* new WatchFailed({ details: "the watch ended" })
    }).pipe(Effect.scoped)

    yield* Effect.forkScoped(supervise("assignment watch", session))
    return ref
  })
