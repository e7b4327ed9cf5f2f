/**
 * The story of one resource, told from the stream alone: who changed its spec, what the planner
 * assigned to which nodes as a result (recomputed by replaying the same pure fold and planner the
 * control plane runs, so it is what the control plane decided), what each node reported, and its
 * deletion. Pure: `coral audit` feeds it the replayed events.
 */

import { canonicalJson } from "./canonicalJson.ts"
import type { StoredEvent } from "./Events.ts"
import { plan } from "./Planner.ts"
import { admissible, applyEvent, emptyState, type State } from "./Projection.ts"
import { type ResourceKey, resourceKeyString } from "./Subjects.ts"

export interface AuditEntry {
  readonly sequence: number
  readonly at: string
  /** Who: the field manager that wrote the spec, `planner`, or the node that reported. */
  readonly actor: string
  readonly what: string
}

const assignedNodes = (state: State, key: ResourceKey) =>
  plan(state)
    .assignments.filter((a) => resourceKeyString(a.resource) === resourceKeyString(key))
    .map(
      (a) =>
        `${a.node}${a.assignment.kind === "ImageSync" ? ` (${a.assignment.images.length} image(s))` : ""}`,
    )

const seconds = (ms: number | undefined) => (ms === undefined ? "" : `, ${(ms / 1000).toFixed(1)}s`)

export const auditTrail = (events: Iterable<StoredEvent>, key: ResourceKey): ReadonlyArray<AuditEntry> => {
  const id = resourceKeyString(key)
  const entries: Array<AuditEntry> = []
  let state = emptyState
  let planned = canonicalJson([])
  for (const stored of events) {
    state = applyEvent(state, stored)
    const { event, sequence } = stored
    const at = event.occurredAt
    if (!admissible(stored)) {
      entries.push({
        sequence,
        at,
        actor: stored.subject,
        what: `ignored: ${event.type} may not be published there`,
      })
      continue
    }
    switch (event.type) {
      case "ResourceApplied":
        if (resourceKeyString(event.data) === id) {
          const spec = event.data.kind === "ImageSync" ? ` images ${event.data.spec.images.join(", ")}` : ""
          entries.push({
            sequence,
            at,
            actor: event.data.fieldManager ?? "unknown",
            what: `spec generation ${event.data.generation} applied (resourceVersion ${event.data.resourceVersion}):${spec}`,
          })
        }
        break
      case "ResourceDeleted":
        if (resourceKeyString(event.data) === id)
          entries.push({ sequence, at, actor: "kubernetes", what: "deleted" })
        break
      case "StatusWritten":
        if (resourceKeyString(event.data) === id) {
          entries.push({
            sequence,
            at,
            actor: "control plane",
            what: `status written: ${event.data.readyNodes}/${event.data.desiredNodes} nodes ready, ${event.data.failedNodes} failing (generation ${event.data.generation}, reflects event ${event.data.reflectsSequence})`,
          })
        }
        break
      case "ImageStatusReported":
      case "ArtifactStatusReported": {
        const { data } = event
        const kind = event.type === "ImageStatusReported" ? "ImageSync" : "ArtifactSync"
        if (resourceKeyString({ kind, namespace: data.namespace, name: data.name }) !== id) break
        const item = "image" in data ? data.image : data.artifact
        const detail =
          data.phase === "Failed" || data.phase === "Removed"
            ? ` ${data.reason ?? ""}: ${data.message ?? ""}`
            : data.phase === "Ready"
              ? `${"digest" in data && data.digest ? ` ${data.digest}` : ""}${seconds(data.durationMs)}`
              : ""
        entries.push({ sequence, at, actor: data.node, what: `${data.phase} ${item}${detail}` })
        break
      }
      // Facts that change no resource's story directly; they may change the plan, checked below.
      case "NodeObserved":
      case "NodeRemoved":
      case "AgentRegistered":
      case "MirrorJobRequested":
      case "MirrorJobProgress":
      case "MirrorJobSucceeded":
      case "MirrorJobFailed":
      case "PoisonEvent":
        break
    }
    const now = canonicalJson(assignedNodes(state, key))
    if (now !== planned) {
      const nodes = assignedNodes(state, key)
      entries.push({
        sequence,
        at,
        actor: "planner",
        what: nodes.length === 0 ? "no node assigned" : `assigned ${nodes.join(", ")}`,
      })
      planned = now
    }
  }
  return entries
}
