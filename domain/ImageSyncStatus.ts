/**
 * What an ImageSync's status says, computed from the projected state and the plan — pure, so the
 * live control plane and `coral replay --verify` compute the same thing. Conditions keep their
 * `lastTransitionTime` while their status does not change.
 */
import type { ImageSyncStatus } from "./ImageSync.ts"
import type { Condition } from "./KubernetesSchema.ts"
import type { ResourcePlan } from "./Planner.ts"
import { canonicalImages, type ResourceState, type State, statusKey } from "./Projection.ts"

const maxRecentFailures = 20

type ImageSyncResource = Extract<ResourceState, { kind: "ImageSync" }>

const condition = (
  type: string,
  status: boolean,
  reason: string,
  message: string,
  generation: number,
  previous: ReadonlyArray<Condition> | undefined,
  now: string,
): Condition => {
  const value = status ? "True" : "False"
  const before = previous?.find((c) => c.type === type)
  return {
    type,
    status: value,
    reason,
    message,
    lastTransitionTime: before && before.status === value ? before.lastTransitionTime : now,
    observedGeneration: generation,
  }
}

export const imageSyncStatus = (
  state: State,
  resource: ImageSyncResource,
  plan: ResourcePlan | undefined,
  previous: ImageSyncStatus | undefined,
  now: string,
): ImageSyncStatus => {
  const key = { kind: "ImageSync", namespace: resource.namespace, name: resource.name } as const
  const images = canonicalImages(resource.spec)
  const desired = plan?.desiredNodes ?? []
  const paused = plan?.pausedNodes ?? []
  let lastEventSequence = resource.appliedSequence

  const perNode = desired.map((node) => {
    const statuses = images.map((image) => {
      const status = state.items[statusKey(key, node, image)]
      if (status && status.sequence > lastEventSequence) lastEventSequence = status.sequence
      return { image, status }
    })
    return { node, statuses }
  })
  const readyNodes = perNode.filter((n) => n.statuses.every((s) => s.status?.phase === "Ready")).length
  const failedNodes = perNode.filter((n) => n.statuses.some((s) => s.status?.phase === "Failed")).length
  const pullingNodes = perNode.filter(
    (n) =>
      !n.statuses.some((s) => s.status?.phase === "Failed") &&
      n.statuses.some((s) => s.status?.phase === "Pulling"),
  ).length

  const imageSummaries = images.map((image) => {
    const statuses = perNode.map((n) => n.statuses.find((s) => s.image === image)?.status)
    const digest = statuses.find((s) => s?.phase === "Ready" && s.digest)?.digest
    return {
      image,
      ...(digest ? { digest } : {}),
      ready: statuses.filter((s) => s?.phase === "Ready").length,
      pulling: statuses.filter((s) => s?.phase === "Pulling").length,
      failed: statuses.filter((s) => s?.phase === "Failed").length,
    }
  })

  const failures = perNode
    .flatMap(({ node, statuses }) =>
      statuses.flatMap(({ image, status }) =>
        status?.phase === "Failed"
          ? [
              {
                node,
                image,
                reason: status.reason ?? "Failed",
                message: status.message ?? "",
                since: status.since,
              },
            ]
          : [],
      ),
    )
    .sort(
      (a, b) =>
        b.since.localeCompare(a.since) || a.node.localeCompare(b.node) || a.image.localeCompare(b.image),
    )
    .slice(0, maxRecentFailures)

  const generation = resource.generation
  const suspended = resource.spec.suspend
  const allReady = desired.length > 0 && readyNodes === desired.length
  const first = failures[0]
  const pausedNote =
    paused.length > 0
      ? `; ${paused.length} matching node(s) paused (NotReady or DiskPressure): ${paused.join(", ")}`
      : ""

  const ready = condition(
    "Ready",
    allReady,
    allReady ? "AllNodesReady" : desired.length === 0 ? "NoMatchingNodes" : "NodesNotReady",
    `${readyNodes}/${desired.length} nodes hold every image${pausedNote}`,
    generation,
    previous?.conditions,
    now,
  )
  const progressing = condition(
    "Progressing",
    !suspended && !allReady && desired.length > 0,
    suspended ? "Suspended" : allReady ? "Complete" : desired.length === 0 ? "NoMatchingNodes" : "Pulling",
    suspended
      ? "spec.suspend is true: no new pulls"
      : `${pullingNodes} node(s) pulling, ${desired.length - readyNodes} not ready yet`,
    generation,
    previous?.conditions,
    now,
  )
  const degraded = condition(
    "Degraded",
    failedNodes > 0,
    first ? first.reason : "NoFailures",
    first ? `${first.image} on ${first.node}: ${first.message}`.trim() : "no pull is failing",
    generation,
    previous?.conditions,
    now,
  )

  return {
    observedGeneration: generation,
    conditions: [ready, progressing, degraded],
    desiredNodes: desired.length,
    readyNodes,
    pullingNodes,
    failedNodes,
    images: imageSummaries,
    recentFailures: failures,
    lastEventSequence,
  }
}
