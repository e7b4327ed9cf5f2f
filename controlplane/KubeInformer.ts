/**
 * A Kubernetes informer that stays up: client-node's informer lists and watches one resource type,
 * but stops for good on any error but `410 Gone`, and a half-open connection can leave it silent.
 * This wrapper restarts it with the shared retry policy when it reports an error, relists when it
 * has been silent for `staleAfter`, and only signals "changed" from its callbacks (which run in an
 * async handler where a throw would be an unhandled rejection). Readers take the cache's current
 * list — level-based: they never depend on which event fired.
 */
import {
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
} from "@kubernetes/client-node"
import { Cause, Deferred, Duration, Effect, Option, Queue, Random, type Scope } from "effect"
import { toKubeRequestFailed } from "../k8s/KubeRequest.ts"
import { loopRetry, restartDelay } from "../runtime/Supervise.ts"

export interface InformerCache<T> {
  /** The objects as last listed or watched. */
  readonly list: Effect.Effect<ReadonlyArray<T>>
  /** Completes once the first list has arrived (before that the cache is empty, not "nothing exists"). */
  readonly synced: Effect.Effect<void>
  /** Signals that something changed (coalesced: one signal may stand for many changes). */
  readonly changes: Queue.Dequeue<void>
}

export interface InformerOptions<T extends KubernetesObject> {
  readonly name: string
  readonly kubeConfig: KubeConfig
  readonly path: string
  readonly list: ListPromise<T>
  readonly staleAfter?: Duration.Duration
}

export const startInformer = <T extends KubernetesObject>(
  options: InformerOptions<T>,
): Effect.Effect<InformerCache<T>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const informer = makeInformer<T>(options.kubeConfig, options.path, options.list)
    const changes = yield* Queue.sliding<void>(1)
    const failures = yield* Queue.unbounded<unknown>()
    const synced = yield* Deferred.make<void>()
    let lastHeard = Date.now()
    const changed = () => {
      lastHeard = Date.now()
      Queue.offerUnsafe(changes, undefined)
    }
    for (const verb of ["add", "update", "delete"] as const) informer.on(verb, changed)
    informer.on("connect", () => {
      lastHeard = Date.now()
    })
    informer.on("error", (error) => Queue.offerUnsafe(failures, error))

    // The API server's own message ("storage is (re)initializing"), not the client's header dump.
    const describe = (cause: unknown) => toKubeRequestFailed(`watch ${options.path}`, cause).message
    const start = Effect.tryPromise({ try: () => informer.start(), catch: describe })
    // Start (and restart) loop: every failure, whether of start() or reported later, restarts it.
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        let attempt = 0
        for (;;) {
          const started = yield* Effect.exit(start)
          if (started._tag === "Success") {
            yield* Deferred.succeed(synced, undefined)
            changed()
            attempt = 0
            const error = yield* Queue.take(failures)
            yield* Effect.logWarning("informer failed, restarting").pipe(
              Effect.annotateLogs({ informer: options.name, error: describe(error) }),
            )
          } else {
            yield* Effect.logWarning("informer could not start").pipe(
              Effect.annotateLogs({
                informer: options.name,
                error: Option.getOrElse(Cause.findErrorOption(started.cause), () => String(started.cause)),
              }),
            )
          }
          yield* Effect.promise(() => informer.stop().catch(() => undefined))
          yield* Effect.sleep(restartDelay(loopRetry, attempt++, yield* Random.next))
        }
      }),
    )
    // Silence for too long may be a half-open connection: make the loop above relist.
    const staleAfter = options.staleAfter ?? Duration.minutes(5)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.sleep(Duration.millis(Duration.toMillis(staleAfter) / 4))
          if (Date.now() - lastHeard > Duration.toMillis(staleAfter)) {
            lastHeard = Date.now()
            yield* Queue.offer(failures, new Error(`no event for ${Duration.format(staleAfter)}`))
          }
        }),
      ),
    )
    yield* Effect.addFinalizer(() => Effect.promise(() => informer.stop().catch(() => undefined)))
    return {
      list: Effect.sync(() => informer.list() as ReadonlyArray<T>),
      synced: Deferred.await(synced),
      changes,
    }
  })
