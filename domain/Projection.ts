/**
 * The control plane's state, as a fold of CORAL_EVENTS: resources (latest applied generation),
 * nodes, and what each node reported for each image or artifact of each resource. The fold is a pure
 * function of the events in stream order, so replaying the stream — in one go or in any batches —
 * rebuilds exactly the state the live control plane had. Reports about a resource, node or image
 * the state does not know change nothing (they are stale or early; the audit log keeps them).
 */
import { Result } from "effect"
import type { ArtifactSyncSpec } from "./ArtifactSync.ts"
import type { EventOfType, PullPhase, StoredEvent } from "./Events.ts"
import { normaliseImageReference } from "./ImageReference.ts"
import type { ImageSyncSpec } from "./ImageSync.ts"
import type { MirrorSpec } from "./Mirror.ts"
import { observationReporter, type ResourceKey, resourceKeyString } from "./Subjects.ts"

interface ResourceBase {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  readonly generation: number
  /** Stream sequence of the ResourceApplied this state comes from. */
  readonly appliedSequence: number
}

export type ResourceState =
  | (ResourceBase & { readonly kind: "ImageSync"; readonly spec: ImageSyncSpec })
  | (ResourceBase & { readonly kind: "ArtifactSync"; readonly spec: ArtifactSyncSpec })
  | (ResourceBase & { readonly kind: "Mirror"; readonly spec: MirrorSpec })

export interface NodeState {
  readonly name: string
  readonly uid: string
  readonly labels: Readonly<Record<string, string>>
  readonly ready: boolean
  readonly diskPressure: boolean
  readonly pidPressure: boolean
  readonly unschedulable: boolean
  readonly taints: ReadonlyArray<{ readonly key: string; readonly value?: string; readonly effect: string }>
}

export interface ItemStatus {
  readonly phase: PullPhase
  readonly digest?: string
  readonly reason?: string
  readonly message?: string
  /** When the phase last changed (the event's `occurredAt`). */
  readonly since: string
  readonly sequence: number
}

export interface MirrorJobState {
  readonly source: string
  readonly target: string
  readonly phase: "Requested" | "Copying" | "Succeeded" | "Failed"
  readonly digest?: string
  readonly bytes?: number
  readonly reason?: string
  readonly message?: string
  readonly since: string
  readonly sequence: number
}

export interface AgentState {
  readonly publicKey: string
  readonly version: string
}

export interface State {
  readonly lastSequence: number
  /**
   * uids of deleted resources (`resource:<uid>`) and removed nodes (`node:<uid>`), with when they
   * went: late facts of them are stale. Kept for `tombstoneRetentionMs`, long past any redelivery.
   */
  readonly removed: Readonly<Record<string, string>>
  /** Registered node agents, by node name. */
  readonly agents: Readonly<Record<string, AgentState>>
  /** By `kind/namespace/name`. */
  readonly resources: Readonly<Record<string, ResourceState>>
  readonly nodes: Readonly<Record<string, NodeState>>
  /** By `statusKey(resource, node, item)`; items are canonical image references or artifact names. */
  readonly items: Readonly<Record<string, ItemStatus>>
  /** By `kind/namespace/name` then source reference. */
  readonly mirrorJobs: Readonly<Record<string, Readonly<Record<string, MirrorJobState>>>>
}

export const emptyState: State = {
  removed: {},
  lastSequence: 0,
  agents: {},
  resources: {},
  nodes: {},
  items: {},
  mirrorJobs: {},
}

export const statusKey = (resource: ResourceKey, node: string, item: string) =>
  `${resourceKeyString(resource)}|${node}|${item}`

/** How long a deleted uid is remembered (event time, so replay prunes exactly as live did). */
export const tombstoneRetentionMs = 7 * 24 * 3_600_000

const remember = (removed: Readonly<Record<string, string>>, key: string, at: string) => {
  const horizon = Date.parse(at) - tombstoneRetentionMs
  const kept = Object.entries(removed).filter(([, when]) => Date.parse(when) >= horizon)
  return Object.fromEntries([...kept, [key, at]])
}

const without = <V>(record: Readonly<Record<string, V>>, drop: (key: string) => boolean) =>
  Object.fromEntries(Object.entries(record).filter(([key]) => !drop(key)))

/** Canonical references of an ImageSync's images (invalid ones, which admission rejects, are left out). */
export const canonicalImages = (spec: ImageSyncSpec): ReadonlyArray<string> => {
  // Asked for every report and every plan, of specs that never change once decoded: parse once.
  const known = canonicalCache.get(spec)
  if (known) return known
  const canonical = [
    ...new Set(
      spec.images.flatMap((image) => {
        const result = normaliseImageReference(image)
        return Result.isSuccess(result) ? [result.success] : []
      }),
    ),
  ]
  canonicalCache.set(spec, canonical)
  return canonical
}

const canonicalCache = new WeakMap<ImageSyncSpec, ReadonlyArray<string>>()

const wantsItem = (resource: ResourceState, item: string): boolean => {
  switch (resource.kind) {
    case "ImageSync":
      return canonicalImages(resource.spec).includes(item)
    case "ArtifactSync":
      return resource.spec.artifacts.some((artifact) => artifact.name === item)
    case "Mirror":
      return false
  }
}

const applyItemStatus = (
  state: State,
  stored: StoredEvent,
  resource: ResourceKey,
  node: string,
  item: string,
  report: Omit<ItemStatus, "since" | "sequence">,
  resourceUid: string | undefined,
): State => {
  const known = state.resources[resourceKeyString(resource)]
  if (!known || !state.nodes[node] || !wantsItem(known, item)) return state
  if (resourceUid !== undefined && resourceUid !== known.uid) return state
  const key = statusKey(resource, node, item)
  const previous = state.items[key]
  const since = previous && previous.phase === report.phase ? previous.since : stored.event.occurredAt
  return { ...state, items: { ...state.items, [key]: { ...report, since, sequence: stored.sequence } } }
}

const applyMirrorJob = (
  state: State,
  stored: StoredEvent,
  data: {
    readonly namespace: string
    readonly name: string
    readonly source: string
    readonly target: string
  },
  update: Omit<MirrorJobState, "source" | "target" | "since" | "sequence">,
): State => {
  const key = resourceKeyString({ kind: "Mirror", namespace: data.namespace, name: data.name })
  if (!state.resources[key]) return state
  const jobs = state.mirrorJobs[key] ?? {}
  const job: MirrorJobState = {
    source: data.source,
    target: data.target,
    ...update,
    since: stored.event.occurredAt,
    sequence: stored.sequence,
  }
  return { ...state, mirrorJobs: { ...state.mirrorJobs, [key]: { ...jobs, [data.source]: job } } }
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const outcome = (
  data: EventOfType<"ImageStatusReported">["data"] | EventOfType<"ArtifactStatusReported">["data"],
) => ({
  phase: data.phase,
  ...optional("reason", data.reason),
  ...optional("message", data.message),
})

/** Folds one stored event into the state. */
/**
 * Whether an event may have been published where it was. Observation subjects are open to node
 * agents and workers, each on its own reporter token: there, only reports are taken, and only
 * about the reporter itself — a node cannot delete a resource, remove a node or speak for another
 * node. Facts (`coral.evt.…`) only the control plane can publish.
 */
export const admissible = (stored: StoredEvent): boolean => {
  if (!stored.subject.startsWith("coral.obs.")) return true
  const reporter = observationReporter(stored.subject)
  const { event } = stored
  switch (event.type) {
    case "ImageStatusReported":
    case "ArtifactStatusReported":
    case "AgentRegistered":
      return reporter !== undefined && "node" in reporter && reporter.node === event.data.node
    case "MirrorJobProgress":
    case "MirrorJobSucceeded":
    case "MirrorJobFailed":
      return reporter !== undefined && "worker" in reporter
    case "ResourceApplied":
    case "ResourceDeleted":
    case "NodeObserved":
    case "NodeRemoved":
    case "MirrorJobRequested":
    case "StatusWritten":
    case "PoisonEvent":
      return false
  }
}

export const applyEvent = (state: State, stored: StoredEvent): State => {
  const next = admissible(stored) ? applyData(state, stored) : state
  return next.lastSequence >= stored.sequence ? next : { ...next, lastSequence: stored.sequence }
}

const applyData = (state: State, stored: StoredEvent): State => {
  const event = stored.event
  switch (event.type) {
    case "ResourceApplied": {
      const key = resourceKeyString(event.data)
      const current = state.resources[key]
      // Same object, older generation: a late duplicate. A deleted object never comes back (a late
      // fact of it is stale). A new uid means the object was re-created.
      if (state.removed[`resource:${event.data.uid}`]) return state
      if (current && current.uid === event.data.uid && current.generation > event.data.generation)
        return state
      const { fieldManager: _, resourceVersion: __, ...data } = event.data
      const resource = { ...data, appliedSequence: stored.sequence } as ResourceState
      // Reports of items the new spec no longer lists (or of a previous incarnation) are forgotten.
      const items = without(
        state.items,
        (k) =>
          k.startsWith(`${key}|`) &&
          (current?.uid !== event.data.uid || !wantsItem(resource, k.slice(k.lastIndexOf("|") + 1))),
      )
      return { ...state, resources: { ...state.resources, [key]: resource }, items }
    }
    case "ResourceDeleted": {
      const key = resourceKeyString(event.data)
      if (state.resources[key]?.uid !== event.data.uid) return state
      return {
        ...state,
        removed: remember(state.removed, `resource:${event.data.uid}`, event.occurredAt),
        resources: without(state.resources, (k) => k === key),
        items: without(state.items, (k) => k.startsWith(`${key}|`)),
        mirrorJobs: without(state.mirrorJobs, (k) => k === key),
      }
    }
    case "NodeObserved": {
      if (state.removed[`node:${event.data.uid}`]) return state
      const previous = state.nodes[event.data.name]
      // A node re-created under the same name starts with nothing.
      const items =
        previous && previous.uid !== event.data.uid
          ? without(state.items, (k) => k.split("|")[1] === event.data.name)
          : state.items
      return { ...state, nodes: { ...state.nodes, [event.data.name]: event.data }, items }
    }
    case "NodeRemoved": {
      if (state.nodes[event.data.name]?.uid !== event.data.uid) return state
      return {
        ...state,
        removed: remember(state.removed, `node:${event.data.uid}`, event.occurredAt),
        nodes: without(state.nodes, (k) => k === event.data.name),
        items: without(state.items, (k) => k.split("|")[1] === event.data.name),
      }
    }
    case "ImageStatusReported": {
      const { data } = event
      return applyItemStatus(
        state,
        stored,
        { kind: "ImageSync", ...data },
        data.node,
        data.image,
        { ...outcome(data), ...optional("digest", data.digest) },
        data.resourceUid,
      )
    }
    case "ArtifactStatusReported": {
      const { data } = event
      return applyItemStatus(
        state,
        stored,
        { kind: "ArtifactSync", ...data },
        data.node,
        data.artifact,
        {
          ...outcome(data),
          ...optional("digest", data.sha256 === undefined ? undefined : `sha256:${data.sha256}`),
        },
        data.resourceUid,
      )
    }
    case "MirrorJobRequested":
      return applyMirrorJob(state, stored, event.data, { phase: "Requested" })
    case "MirrorJobProgress":
      return applyMirrorJob(state, stored, event.data, { phase: "Copying", bytes: event.data.bytesCopied })
    case "MirrorJobSucceeded":
      return applyMirrorJob(state, stored, event.data, {
        phase: "Succeeded",
        digest: event.data.digest,
        bytes: event.data.bytes,
      })
    case "MirrorJobFailed":
      return applyMirrorJob(state, stored, event.data, {
        phase: "Failed",
        reason: event.data.reason,
        message: event.data.message,
      })
    case "AgentRegistered":
      return {
        ...state,
        agents: {
          ...state.agents,
          [event.data.node]: { publicKey: event.data.publicKey, version: event.data.version },
        },
      }
    // Recorded for operators; they hold no state.
    case "StatusWritten":
    case "PoisonEvent":
      return state
  }
}

export const fold = (events: Iterable<StoredEvent>, from: State = emptyState): State => {
  let state = from
  for (const stored of events) state = applyEvent(state, stored)
  return state
}
