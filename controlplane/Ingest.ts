/**
 * Kubernetes → CORAL_EVENTS. A level-based reconciler: whenever an informer's cache changes (and on
 * a periodic tick), it compares what the API server holds with the projected state and appends only
 * the facts the state lacks — a spec whose `metadata.generation` is new, a deletion, a node whose
 * labels or conditions changed, a node that is gone. It never branches on which watch event fired,
 * so relists, re-watches and spurious updates cost nothing, and a restart catches up on whatever
 * happened while it was down.
 *
 * Spec facts carry `Nats-Msg-Id` = `<clusterUID>:<objectUID>:<generation>` and the subject's last
 * sequence as read just before the append: if another control plane appended first, the append is
 * refused and the next pass sees the newer state.
 */
import type { KubernetesObject, V1Node } from "@kubernetes/client-node"
import { Effect, Result, Schema, SubscriptionRef } from "effect"
import { canonicalJson } from "../domain/canonicalJson.ts"
import type { EventOfType } from "../domain/Events.ts"
import { parseImageReference } from "../domain/ImageReference.ts"
import { ImageSyncSpec, type ImageSyncStatus } from "../domain/ImageSync.ts"
import { imageLabelPrefix } from "../domain/NodeMarks.ts"
import type { NodeState, State } from "../domain/Projection.ts"
import { nodeSubject, type ResourceKey, resourceKeyString, specSubject } from "../domain/Subjects.ts"
import { EventStore, type EventStoreFailed, makeEvent } from "../eventlog/EventStore.ts"

export interface ImageSyncObject extends KubernetesObject {
  readonly spec?: unknown
  readonly status?: ImageSyncStatus
}

/** Specs that passed admission but not Coral's own decoding, by resource key; the status writer reports them. */
export type InvalidSpecs = Map<string, string>

const decodeImageSyncSpec = Schema.decodeUnknownEffect(ImageSyncSpec)

/** The field manager that last wrote the spec, from `managedFields`. */
export const specFieldManager = (object: KubernetesObject): string | undefined =>
  [...(object.metadata?.managedFields ?? [])]
    .filter((entry) => JSON.stringify(entry.fieldsV1 ?? {}).includes('"f:spec"'))
    .sort((a, b) => String(a.time ?? "").localeCompare(String(b.time ?? "")))
    .at(-1)?.manager

const appendFact = <
  T extends EventOfType<"ResourceApplied" | "ResourceDeleted" | "NodeObserved" | "NodeRemoved">,
>(
  subject: string,
  event: T,
  msgId: string,
) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const expected = yield* store.lastSubjectSequence(subject)
    yield* store.append(subject, event, { msgId, expectedLastSubjectSequence: expected }).pipe(
      Effect.tap((ack) =>
        Effect.logInfo("fact appended").pipe(
          Effect.annotateLogs({
            type: event.type,
            subject,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
          }),
        ),
      ),
      Effect.catchTag("AppendConflict", (conflict) =>
        Effect.logInfo("another writer appended first; the next pass re-reads").pipe(
          Effect.annotateLogs({ subject, detail: conflict.details }),
        ),
      ),
    )
  })

export interface IngestContext {
  readonly cluster: string
  /** UID of the cluster's kube-system namespace: makes message ids unique across clusters. */
  readonly clusterUid: string
  readonly state: SubscriptionRef.SubscriptionRef<State>
}

export const reconcileImageSyncs = (
  context: IngestContext,
  objects: ReadonlyArray<ImageSyncObject>,
  invalid: InvalidSpecs,
): Effect.Effect<void, EventStoreFailed, EventStore> =>
  Effect.gen(function* () {
    const state = yield* SubscriptionRef.get(context.state)
    const present = new Set<string>()
    for (const object of objects) {
      const namespace = object.metadata?.namespace ?? ""
      const name = object.metadata?.name ?? ""
      const uid = object.metadata?.uid ?? ""
      const generation = object.metadata?.generation ?? 0
      const key: ResourceKey = { kind: "ImageSync", namespace, name }
      const id = resourceKeyString(key)
      present.add(`${id}|${uid}`)
      const known = state.resources[id]
      if (known && known.uid === uid && known.generation >= generation) continue

      const decoded = yield* Effect.exit(decodeImageSyncSpec(object.spec))
      if (decoded._tag === "Failure") {
        invalid.set(id, String(decoded.cause))
        continue
      }
      // The CRD checks the reference grammar; what only the parser sees (lengths) is reported here.
      const badImages = decoded.value.images.flatMap((image) => {
        const parsed = parseImageReference(image)
        return Result.isFailure(parsed) ? [parsed.failure.message] : []
      })
      if (badImages.length > 0) {
        invalid.set(id, badImages.join("; "))
        continue
      }
      invalid.delete(id)
      const fieldManager = specFieldManager(object)
      const event = yield* makeEvent(
        "ResourceApplied",
        {
          kind: "ImageSync",
          namespace,
          name,
          uid,
          generation,
          resourceVersion: object.metadata?.resourceVersion ?? "",
          ...(fieldManager ? { fieldManager } : {}),
          spec: decoded.value,
        },
        { cluster: context.cluster },
      )
      yield* appendFact(
        specSubject(context.cluster, key),
        event,
        `${context.clusterUid}:${uid}:${generation}`,
      )
    }
    for (const resource of Object.values(state.resources)) {
      if (resource.kind !== "ImageSync") continue
      const id = resourceKeyString(resource)
      if (present.has(`${id}|${resource.uid}`)) continue
      invalid.delete(id)
      const event = yield* makeEvent(
        "ResourceDeleted",
        { kind: "ImageSync", namespace: resource.namespace, name: resource.name, uid: resource.uid },
        { cluster: context.cluster },
      )
      yield* appendFact(
        specSubject(context.cluster, resource),
        event,
        `${context.clusterUid}:${resource.uid}:deleted`,
      )
    }
  })

const condition = (node: V1Node, type: string) =>
  node.status?.conditions?.find((c) => c.type === type)?.status === "True"

/** The facts of a Node that Coral plans with. */
export const nodeFacts = (node: V1Node): NodeState => ({
  name: node.metadata?.name ?? "",
  uid: node.metadata?.uid ?? "",
  // Coral's own image labels are derived from the stream, not facts about the node.
  labels: Object.fromEntries(
    Object.entries(node.metadata?.labels ?? {}).filter(([key]) => !key.startsWith(imageLabelPrefix)),
  ),
  ready: condition(node, "Ready"),
  diskPressure: condition(node, "DiskPressure"),
  pidPressure: condition(node, "PIDPressure"),
  unschedulable: node.spec?.unschedulable ?? false,
  taints: (node.spec?.taints ?? []).map((taint) => ({
    key: taint.key,
    effect: taint.effect,
    ...(taint.value === undefined ? {} : { value: taint.value }),
  })),
})

const sameFacts = (a: NodeState, b: NodeState) => canonicalJson(a) === canonicalJson(b)

export const reconcileNodes = (
  context: IngestContext,
  nodes: ReadonlyArray<V1Node>,
): Effect.Effect<void, EventStoreFailed, EventStore> =>
  Effect.gen(function* () {
    const state = yield* SubscriptionRef.get(context.state)
    const present = new Set<string>()
    for (const node of nodes) {
      const facts = nodeFacts(node)
      present.add(`${facts.name}|${facts.uid}`)
      const known = state.nodes[facts.name]
      if (known && sameFacts(known, facts)) continue
      const event = yield* makeEvent("NodeObserved", facts, { cluster: context.cluster })
      yield* appendFact(
        nodeSubject(context.cluster, facts.name),
        event,
        `${context.clusterUid}:${facts.uid}:${node.metadata?.resourceVersion ?? ""}`,
      )
    }
    for (const known of Object.values(state.nodes)) {
      if (present.has(`${known.name}|${known.uid}`)) continue
      const event = yield* makeEvent(
        "NodeRemoved",
        { name: known.name, uid: known.uid },
        { cluster: context.cluster },
      )
      yield* appendFact(
        nodeSubject(context.cluster, known.name),
        event,
        `${context.clusterUid}:${known.uid}:removed`,
      )
    }
  })
