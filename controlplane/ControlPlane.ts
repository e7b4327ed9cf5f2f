/**
 * The control plane: one leader (Lease-elected; standbys wait) that turns the Kubernetes API's
 * ImageSyncs and Nodes into events, keeps the projection of the stream, writes the planner's
 * per-node assignments (with sealed pull credentials) to `coral_desired`, and folds node reports
 * into each ImageSync's status. Every loop is level-based and supervised: it restarts after a
 * failure and catches up from the current state, never from "what it missed".
 */
import { hostname } from "node:os"
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Node,
  type V1Secret,
} from "@kubernetes/client-node"
import { createCurve } from "@nats-io/nkeys"
import { Duration, Effect, Ref, type Scope, Stream, SubscriptionRef } from "effect"
import { Counter, Registry } from "prom-client"
import { nodeMarks } from "../domain/NodeMarks.ts"
import { type PlanOptions, plan } from "../domain/Planner.ts"
import { statusNotes } from "../domain/StatusNotes.ts"
import { openDesiredBucket } from "../eventlog/DesiredBucket.ts"
import type { EventStore } from "../eventlog/EventStore.ts"
import { Nats } from "../eventlog/Nats.ts"
import { defaultEventLogSettings, provisionEventLog } from "../eventlog/Provisioning.ts"
import { group, version } from "../infra/crd/definitions.ts"
import { kubeRequest } from "../k8s/KubeRequest.ts"
import { coalesce } from "../runtime/coalesce.ts"
import { serveEndpoints } from "../runtime/HttpEndpoints.ts"
import { supervise } from "../runtime/Supervise.ts"
import {
  type CredentialProblem,
  desiredEntries,
  makeSealer,
  readDesired,
  writeDifference,
} from "./AssignmentPublisher.ts"
import { type ImageSyncObject, type InvalidSpecs, reconcileImageSyncs, reconcileNodes } from "./Ingest.ts"
import { recordNotes } from "./KubeEvents.ts"
import { startInformer } from "./KubeInformer.ts"
import { whileLeader } from "./LeaderElection.ts"
import { followState } from "./LiveState.ts"
import { markNodes } from "./NodeMarker.ts"
import { reconcileWritten, recordStatusWritten, type WrittenEntry, writeStatuses } from "./StatusWriter.ts"

export interface ControlPlaneOptions {
  readonly cluster: string
  readonly kubeConfig: KubeConfig
  readonly leaseNamespace: string
  readonly identity?: string
  readonly metricsHost: string
  readonly metricsPort: number
  /** How often statuses are written at most (per resource). */
  readonly statusInterval: Duration.Duration
  /** Periodic re-check of everything even when no watch fired. */
  readonly resyncInterval: Duration.Duration
  readonly plan: PlanOptions
}

const imageSyncPath = `/apis/${group}/${version}/imagesyncs`

export const runControlPlane = (
  options: ControlPlaneOptions,
): Effect.Effect<never, unknown, Nats | EventStore | Scope.Scope> =>
  Effect.gen(function* () {
    const { cluster, kubeConfig } = options
    const identity = options.identity ?? `${hostname()}-${process.pid}`
    const registry = new Registry()
    const statusWrites = new Counter({
      name: "coral_controlplane_status_writes_total",
      help: "Status subresource patches written (coalesced: at most one per resource per status interval).",
      registers: [registry],
    })
    const kvWrites = new Counter({
      name: "coral_controlplane_assignment_writes_total",
      help: "Puts and deletes of per-node assignments in coral_desired (only differences are written).",
      labelNames: ["operation"],
      registers: [registry],
    })
    yield* serveEndpoints({
      host: options.metricsHost,
      port: options.metricsPort,
      registry,
      unhealthy: () => undefined,
    })

    yield* provisionEventLog(defaultEventLogSettings(cluster))
    const core = kubeConfig.makeApiClient(CoreV1Api)
    const custom = kubeConfig.makeApiClient(CustomObjectsApi)
    const clusterUid = yield* kubeRequest("read namespace kube-system", () =>
      core.readNamespace({ name: "kube-system" }),
    ).pipe(Effect.map((ns) => ns.metadata?.uid ?? cluster))

    const duties = Effect.gen(function* () {
      const live = yield* followState(cluster)
      const imageSyncs = yield* startInformer<ImageSyncObject>({
        name: "imagesyncs",
        kubeConfig,
        path: imageSyncPath,
        // The generic custom-objects client returns an untyped list.
        list: () =>
          custom.listClusterCustomObject({ group, version, plural: "imagesyncs" }) as Promise<
            KubernetesListObject<ImageSyncObject>
          >,
      })
      const nodes = yield* startInformer<V1Node>({
        name: "nodes",
        kubeConfig,
        path: "/api/v1/nodes",
        list: () => core.listNode(),
      })
      const secrets = yield* startInformer<V1Secret>({
        name: "secrets",
        kubeConfig,
        path: "/api/v1/secrets",
        list: () => core.listSecretForAllNamespaces(),
      })
      yield* live.caughtUp
      yield* imageSyncs.synced
      yield* nodes.synced
      yield* secrets.synced
      yield* Effect.logInfo("caught up with the stream and the API server")

      const context = { cluster, clusterUid, state: live.state }
      const invalid: InvalidSpecs = new Map()
      const ingest = Effect.gen(function* () {
        const syncs = yield* imageSyncs.list
        const nodeList = yield* nodes.list
        yield* Effect.logDebug("ingest pass").pipe(
          Effect.annotateLogs({ imageSyncs: syncs.length, nodes: nodeList.length }),
        )
        yield* reconcileImageSyncs(context, syncs, invalid)
        yield* reconcileNodes(context, nodeList)
      })
      const ingestTriggers = Stream.mergeAll(
        [
          Stream.fromQueue(imageSyncs.changes),
          Stream.fromQueue(nodes.changes),
          Stream.tick(options.resyncInterval),
        ],
        { concurrency: "unbounded" },
      )
      yield* Effect.forkScoped(supervise("ingest", coalesce(ingestTriggers, Duration.millis(20), ingest)))

      // Assignments: every state or secret change, debounced.
      const { connection } = yield* Nats
      const kv = yield* Effect.promise(() => openDesiredBucket(connection))
      const written = yield* readDesired(kv, cluster)
      const sealer = makeSealer(createCurve())
      const problems = yield* Ref.make<ReadonlyArray<CredentialProblem>>([])
      const publish = Effect.gen(function* () {
        const state = yield* SubscriptionRef.get(live.state)
        const desired = desiredEntries(cluster, plan(state, options.plan), state, yield* secrets.list, sealer)
        yield* Ref.set(problems, desired.problems)
        const { puts, deletes } = yield* writeDifference(kv, written, desired.entries)
        kvWrites.inc({ operation: "put" }, puts)
        kvWrites.inc({ operation: "delete" }, deletes)
        if (puts + deletes > 0) {
          yield* Effect.logInfo("assignments written").pipe(
            Effect.annotateLogs({
              puts,
              deletes,
              assigned: desired.entries.size,
              sequence: state.lastSequence,
            }),
          )
        }
      })
      const publishTriggers = Stream.merge(
        SubscriptionRef.changes(live.state),
        Stream.fromQueue(secrets.changes),
      )
      yield* Effect.forkScoped(
        supervise("assignments", coalesce(publishTriggers, Duration.millis(50), publish)),
      )

      // Statuses and node marks: at most one pass per interval, writing only what changed; both
      // follow from the same plan, computed once per pass.
      const statusWritten = new Map<string, WrittenEntry>()
      const eventCounts = new Map<string, number>()
      const reportPass = Effect.gen(function* () {
        const state = yield* SubscriptionRef.get(live.state)
        const planned = plan(state, options.plan)
        const objects = yield* imageSyncs.list
        reconcileWritten(
          statusWritten,
          objects.map((o) => ({
            namespace: o.metadata?.namespace ?? "",
            name: o.metadata?.name ?? "",
            ...(o.metadata?.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
            ...(o.status ? { status: o.status } : {}),
          })),
        )
        const writes = yield* writeStatuses(custom, statusWritten, {
          state,
          plan: planned,
          problems: yield* Ref.get(problems),
          invalid: [...invalid.entries()].flatMap(([key, message]) => {
            const object = objects.find(
              (o) => `ImageSync/${o.metadata?.namespace}/${o.metadata?.name}` === key,
            )
            return object
              ? [
                  {
                    namespace: object.metadata?.namespace ?? "",
                    name: object.metadata?.name ?? "",
                    generation: object.metadata?.generation ?? 0,
                    message,
                  },
                ]
              : []
          }),
          now: new Date().toISOString(),
        })
        statusWrites.inc(writes.length)
        for (const write of writes) {
          const uid = state.resources[`ImageSync/${write.namespace}/${write.name}`]?.uid
          const notes = statusNotes(write.before, write.after)
          if (uid && notes.length > 0)
            yield* recordNotes(core, eventCounts, identity, { ...write, uid }, notes)
          yield* recordStatusWritten(cluster, write)
        }
        yield* markNodes(core, yield* nodes.list, nodeMarks(state, planned))
      })
      const reportTriggers = Stream.merge(
        SubscriptionRef.changes(live.state),
        Stream.tick(options.resyncInterval),
      )
      yield* Effect.forkScoped(
        supervise("status and node marks", coalesce(reportTriggers, options.statusInterval, reportPass)),
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)

    return yield* whileLeader(
      {
        kubeConfig,
        namespace: options.leaseNamespace,
        name: "coral-controlplane",
        identity,
        leaseDuration: Duration.seconds(15),
        renewEvery: Duration.seconds(3),
      },
      duties,
    )
  })
