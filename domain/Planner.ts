/**
 * The planner: a pure function from the projected state to per-node assignments. The control plane
 * writes only the difference between two plans to the `coral_desired` bucket, and replaying the
 * stream reproduces the same plan, because nothing here reads a clock, a random source or I/O.
 *
 * For each ImageSync or ArtifactSync that is not suspended:
 * - target nodes are those matching `nodeSelector` (and `nodeNames`, when given) that are Ready
 *   and not under disk pressure; a node that stops being usable loses its assignment (pauses);
 * - with `replicas`, only that many targets are kept, ranked so that nodes already holding
 *   everything stay chosen and the rest are spread by rendezvous hashing of the resource's uid and
 *   the node's name (stable when unrelated nodes come and go);
 * - nodes that have started (reported anything) keep their assignment; new nodes are added only
 *   while fewer than `parallelism` targets are still pulling. Nodes whose pulls failed keep their
 *   assignment (their agent retries with back-off) but do not hold a slot, so one broken node
 *   cannot stall the rollout.
 * Assignments are stamped with the sequence of the spec they were planned from, so they change only
 * when the spec or the node set changes, not on every status report.
 */
import { Result } from "effect"
import type { Artifact } from "./ArtifactSync.ts"
import { parseImageReference } from "./ImageReference.ts"
import { selectorMatches } from "./LabelSelector.ts"
import { canonicalImages, type NodeState, type ResourceState, type State, statusKey } from "./Projection.ts"
import type { ResourceKey } from "./Subjects.ts"

interface AssignmentBase {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  readonly generation: number
  /** Stream sequence of the spec this assignment was planned from. */
  readonly plannedFromSequence: number
}

export interface ImageAssignment extends AssignmentBase {
  readonly kind: "ImageSync"
  /** Canonical references. */
  readonly images: ReadonlyArray<string>
  readonly pullPolicy: "IfNotPresent" | "Always"
  readonly refreshInterval: string
  readonly pullTimeout: string
  readonly backoff: { readonly base: string; readonly max: string }
  /** Names of the pull secrets; the control plane resolves and seals them per node. */
  readonly imagePullSecrets: ReadonlyArray<string>
}

export interface ArtifactAssignment extends AssignmentBase {
  readonly kind: "ArtifactSync"
  readonly artifacts: ReadonlyArray<typeof Artifact.Type>
}

export type Assignment = ImageAssignment | ArtifactAssignment

export interface PlannedAssignment {
  readonly node: string
  readonly resource: ResourceKey
  readonly assignment: Assignment
}

export interface ResourcePlan {
  readonly resource: ResourceKey
  /** Nodes that should end up holding the resource (after replicas). */
  readonly desiredNodes: ReadonlyArray<string>
  /** Matching nodes left out because they are NotReady or under disk pressure. */
  readonly pausedNodes: ReadonlyArray<string>
}

export interface Plan {
  readonly assignments: ReadonlyArray<PlannedAssignment>
  readonly resources: ReadonlyArray<ResourcePlan>
}

/** FNV-1a, 32 bits: a small, stable hash for rendezvous ranking. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

const usable = (node: NodeState) => node.ready && !node.diskPressure

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

type Planned = Extract<ResourceState, { kind: "ImageSync" | "ArtifactSync" }>

const itemsOf = (resource: Planned): ReadonlyArray<string> =>
  resource.kind === "ImageSync" ? canonicalImages(resource.spec) : resource.spec.artifacts.map((a) => a.name)

/** The assignment of `resource` limited to `items` (canonical images or artifact names). */
const assignmentOf = (resource: Planned, items: ReadonlySet<string>): Assignment => {
  const base = {
    namespace: resource.namespace,
    name: resource.name,
    uid: resource.uid,
    generation: resource.generation,
    plannedFromSequence: resource.appliedSequence,
  }
  if (resource.kind === "ArtifactSync") {
    return {
      kind: "ArtifactSync",
      ...base,
      artifacts: resource.spec.artifacts.filter((a) => items.has(a.name)),
    }
  }
  const spec = resource.spec
  return {
    kind: "ImageSync",
    ...base,
    images: canonicalImages(spec).filter((image) => items.has(image)),
    pullPolicy: spec.pullPolicy,
    refreshInterval: spec.refreshInterval,
    pullTimeout: spec.pullTimeout,
    backoff: spec.backoff,
    imagePullSecrets: (spec.imagePullSecrets ?? []).map((secret) => secret.name),
  }
}

/** Registry of a canonical image reference (artifacts have none: they are not pulled from registries). */
const registryOf = (item: string) => {
  const parsed = parseImageReference(item)
  return Result.isSuccess(parsed) ? parsed.success.domain : undefined
}

/** Pulls in flight per registry, across every resource and node: what the registry bound counts. */
const pullsInFlight = (state: State): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const [key, status] of Object.entries(state.items)) {
    if (status.phase !== "Pulling" && status.phase !== "Removed") continue
    const registry = key.startsWith("ImageSync/")
      ? registryOf(key.slice(key.lastIndexOf("|") + 1))
      : undefined
    if (registry) counts.set(registry, (counts.get(registry) ?? 0) + 1)
  }
  return counts
}

const planResource = (
  state: State,
  resource: Planned,
  registryPulls: Map<string, number>,
  options: PlanOptions,
) => {
  const key: ResourceKey = { kind: resource.kind, namespace: resource.namespace, name: resource.name }
  const items = itemsOf(resource)
  const only =
    resource.kind === "ImageSync" && resource.spec.nodeNames ? new Set(resource.spec.nodeNames) : undefined
  const matching = Object.values(state.nodes)
    .filter(
      (node) => selectorMatches(resource.spec.nodeSelector, node.labels) && (!only || only.has(node.name)),
    )
    .sort((a, b) => compare(a.name, b.name))

  const phase = (node: string, item: string) => state.items[statusKey(key, node, item)]?.phase
  const held = (node: string) => items.filter((item) => phase(node, item) === "Ready")
  const needed = (node: string) => items.filter((item) => phase(node, item) !== "Ready")
  // A node pulls now when some needed item is being pulled (or re-pulled after removal).
  const inFlight = (node: string) =>
    needed(node).some((item) => phase(node, item) === "Pulling" || phase(node, item) === "Removed")
  const failing = (node: string) =>
    !inFlight(node) && needed(node).some((item) => phase(node, item) === "Failed")

  const ranked = matching
    .filter(usable)
    .map((node) => ({
      name: node.name,
      complete: needed(node.name).length === 0 ? 0 : 1,
      holding: held(node.name).length > 0 ? 0 : 1,
      active: inFlight(node.name) ? 0 : 1,
      score: hash(`${resource.uid}/${node.name}`),
    }))
    .sort(
      (a, b) =>
        a.complete - b.complete ||
        a.holding - b.holding ||
        a.active - b.active ||
        a.score - b.score ||
        compare(a.name, b.name),
    )
    .map((node) => node.name)
  const replicas = resource.kind === "ImageSync" ? resource.spec.replicas : undefined
  const targets = replicas === undefined ? ranked : ranked.slice(0, replicas)

  // Nodes with nothing to pull, pulling already, or failing (retrying on their own) get everything;
  // the others get everything only while a parallelism slot is free, and meanwhile keep what they hold.
  const slots = Math.max(0, resource.spec.parallelism - targets.filter(inFlight).length)
  const waiting = targets.filter((node) => needed(node).length > 0 && !inFlight(node) && !failing(node))
  // Within the free slots, a node is granted only while every registry it would pull from stays
  // under the cluster-wide bound (counted across resources, in the planner's fixed order).
  const admitted: Array<string> = []
  for (const node of waiting) {
    if (admitted.length >= slots) break
    if (resource.kind === "ImageSync") {
      const registries = [...new Set(needed(node).flatMap((item) => registryOf(item) ?? []))]
      if (registries.some((r) => (registryPulls.get(r) ?? 0) >= options.maxPullsPerRegistry)) continue
      for (const r of registries) registryPulls.set(r, (registryPulls.get(r) ?? 0) + 1)
    }
    admitted.push(node)
  }
  const granted = new Set([...targets.filter((node) => !waiting.includes(node)), ...admitted])
  const everything = new Set(items)

  const plan: ResourcePlan = {
    resource: key,
    desiredNodes: [...targets].sort(compare),
    pausedNodes: matching.filter((node) => !usable(node)).map((node) => node.name),
  }
  if (resource.spec.suspend) return { plan, assignments: [] }
  const assignments = targets.flatMap((node) => {
    const grant = granted.has(node) ? everything : new Set(held(node))
    return grant.size === 0 ? [] : [{ node, resource: key, assignment: assignmentOf(resource, grant) }]
  })
  return { plan, assignments }
}

export interface PlanOptions {
  /** Most nodes pulling from one registry at once, across every resource of the cluster. */
  readonly maxPullsPerRegistry: number
}

export const defaultPlanOptions: PlanOptions = { maxPullsPerRegistry: 50 }

export const plan = (state: State, options: PlanOptions = defaultPlanOptions): Plan => {
  const registryPulls = pullsInFlight(state)
  const resources = Object.keys(state.resources)
    .sort(compare)
    .map((key) => state.resources[key])
    .filter((resource): resource is Planned => resource !== undefined && resource.kind !== "Mirror")
    .map((resource) => planResource(state, resource, registryPulls, options))
  const assignments = resources
    .flatMap((r) => r.assignments)
    .sort(
      (a, b) =>
        compare(a.node, b.node) ||
        compare(
          `${a.resource.kind}/${a.resource.namespace}/${a.resource.name}`,
          `${b.resource.kind}/${b.resource.namespace}/${b.resource.name}`,
        ),
    )
  return { assignments, resources: resources.map((r) => r.plan) }
}
