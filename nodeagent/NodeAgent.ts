/**
 * The node agent: registers its public key (an ephemeral NATS xkey, made at start and never
 * written anywhere), watches its own keys in `coral_desired`, and runs one `keepImage` worker per
 * assigned image — starting workers for new images, interrupting those whose assignment went away
 * or changed. It talks only to NATS and the node's CRI socket; it has no Kubernetes access and
 * sees pull credentials only sealed to its own key. Images of an assignment that goes away are left
 * in the runtime (the kubelet's image GC reclaims them when unused).
 */
import { createHash } from "node:crypto"
import { createCurve } from "@nats-io/nkeys"
import type { NatsConnection } from "@nats-io/transport-node"
import {
  Cause,
  Duration,
  Effect,
  FiberMap,
  Redacted,
  Schedule,
  type Scope,
  Semaphore,
  Stream,
  SubscriptionRef,
} from "effect"
import { canonicalJson } from "../domain/canonicalJson.ts"
import { agentSubject, observationSubject } from "../domain/Subjects.ts"
import { openDesiredBucket } from "../eventlog/DesiredBucket.ts"
import { EventStore, makeEvent } from "../eventlog/EventStore.ts"
import { Nats } from "../eventlog/Nats.ts"
import { serveEndpoints } from "../runtime/HttpEndpoints.ts"
import { type Assignments, watchAssignments } from "./AssignmentWatch.ts"
import { makeCriImageService } from "./CriImageService.ts"
import { keepImage, openCredentials, type PullerContext, type PullTarget } from "./ImagePuller.ts"
import { makeAgentMetrics } from "./Metrics.ts"

export const agentVersion = "0.1.0"

export interface NodeAgentOptions {
  readonly cluster: string
  readonly node: string
  readonly criSocket: string
  readonly metricsHost: string
  readonly metricsPort: number
  readonly pullConcurrency: number
  readonly recheckInterval: Duration.Duration
}

/** The bucket is provisioned by the control plane: wait for it rather than create it. */
const openBucket = (connection: NatsConnection) =>
  Effect.tryPromise(async () => {
    const kv = await openDesiredBucket(connection)
    await kv.status()
    return kv
  }).pipe(
    Effect.tapError(() => Effect.logInfo("waiting for the control plane to provision coral_desired")),
    Effect.retry(Schedule.spaced(Duration.seconds(1))),
  )

export const runNodeAgent = (
  options: NodeAgentOptions,
): Effect.Effect<never, unknown, Nats | EventStore | Scope.Scope> =>
  Effect.gen(function* () {
    const { cluster, node } = options
    const metrics = makeAgentMetrics()
    const endpoints = yield* serveEndpoints({
      host: options.metricsHost,
      port: options.metricsPort,
      registry: metrics.registry,
      unhealthy: () => undefined,
    })
    yield* Effect.logInfo("serving metrics").pipe(Effect.annotateLogs({ node, port: endpoints.port }))

    const store = yield* EventStore
    const { connection } = yield* Nats
    const curve = createCurve()
    const registered = yield* makeEvent(
      "AgentRegistered",
      { node, publicKey: curve.getPublicKey(), version: agentVersion },
      { cluster },
    )
    // The control plane provisions the stream; an agent that starts first waits for it.
    yield* store.append(agentSubject(cluster, node), registered, { msgId: registered.id }).pipe(
      Effect.tapError((error) =>
        Effect.logWarning("cannot register yet, retrying").pipe(
          Effect.annotateLogs({ error: error.message }),
        ),
      ),
      Effect.retry(Schedule.spaced(Duration.seconds(2))),
    )

    const kv = yield* openBucket(connection)
    const cri = yield* makeCriImageService(options.criSocket)
    const assignments = yield* watchAssignments(kv, cluster, node)
    const workers = yield* FiberMap.make<string>()
    const ready = new Set<string>()

    const context: PullerContext = {
      cri,
      pulls: yield* Semaphore.make(options.pullConcurrency),
      recheckInterval: options.recheckInterval,
      metrics,
      report: (target, report) =>
        Effect.gen(function* () {
          const { assignment } = target
          const event = yield* makeEvent(
            "ImageStatusReported",
            {
              node,
              namespace: assignment.namespace,
              name: assignment.name,
              resourceUid: assignment.uid,
              image: target.image,
              ...report,
            },
            { cluster },
          )
          const key = { kind: "ImageSync", namespace: assignment.namespace, name: assignment.name } as const
          yield* store.append(observationSubject(cluster, key, { node }), event, { msgId: event.id })
          const id = `${assignment.namespace}/${assignment.name}|${target.image}`
          if (report.phase === "Ready") ready.add(id)
          else ready.delete(id)
          metrics.present.set(ready.size)
        }).pipe(Effect.mapError((error) => new Error(error.message))),
    }

    const workerTargets = new Map<string, PullTarget>()
    const targetsOf = (current: Assignments) => {
      const targets = new Map<string, PullTarget>()
      for (const [key, value] of current) {
        const { assignment } = value
        if (assignment.kind !== "ImageSync") continue
        for (const image of assignment.images) {
          const sealed = value.credentials?.images[image]
          const credentials = openCredentials((m, s) => curve.open(m, s), sealed, value.credentials?.sealedBy)
          // Sealed for a key this agent no longer has (it restarted): wait for the new seal rather
          // than pull without credentials and report a misleading Unauthorized.
          if (credentials === undefined) continue
          // A worker restarts when anything that shapes its pulls changes — the credentials by
          // their content, not their ciphertext, which is new at every sealing.
          const fingerprint = createHash("sha256")
            .update(
              canonicalJson({
                ...assignment,
                images: undefined,
                generation: undefined,
                plannedFromSequence: undefined,
                credentials: credentials.map((c) => ({ ...c, password: Redacted.value(c.password) })),
              }),
            )
            .digest("hex")
            .slice(0, 16)
          targets.set(`${key}|${image}|${fingerprint}`, { assignment, image, credentials })
        }
      }
      return targets
    }

    const reconcile = (current: Assignments) =>
      Effect.gen(function* () {
        const targets = targetsOf(current)
        for (const [id] of [...workers]) {
          if (!targets.has(id)) {
            yield* FiberMap.remove(workers, id)
            const target = workerTargets.get(id)
            if (target)
              ready.delete(`${target.assignment.namespace}/${target.assignment.name}|${target.image}`)
            workerTargets.delete(id)
          }
        }
        for (const [id, target] of targets) {
          workerTargets.set(id, target)
          const worker = keepImage(context, target).pipe(
            Effect.tapCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.void
                : Effect.logError("image worker died").pipe(
                    Effect.annotateLogs({ image: target.image, cause: Cause.pretty(cause) }),
                  ),
            ),
          )
          yield* FiberMap.run(workers, id, worker, { onlyIfMissing: true })
        }
        metrics.desired.set(targets.size)
        yield* Effect.logInfo("assignments changed").pipe(
          Effect.annotateLogs({ node, assignments: current.size, images: targets.size }),
        )
        metrics.lastReconcile.setToCurrentTime()
      })

    yield* SubscriptionRef.changes(assignments).pipe(Stream.runForEach(reconcile))
    return yield* Effect.never
  })
