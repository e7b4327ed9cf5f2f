import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  historyArbitrary,
  imageReported,
  imageSyncApplied,
  nodeObserved,
  stored,
} from "../tests/support/events.ts"
import { selectorMatches } from "./LabelSelector.ts"
import { type Plan, plan } from "./Planner.ts"
import { fold, type State, statusKey } from "./Projection.ts"

const nodesOf = (result: Plan, name: string) =>
  result.assignments.filter((a) => a.resource.name === name).map((a) => a.node)

const image = "docker.io/library/nginx:1"
const world = (count: number, labels: (i: number) => Record<string, string> = () => ({})) =>
  Array.from({ length: count }, (_, i) => nodeObserved(`n${i + 1}`, labels(i)))

const reverseKeys = <V>(record: Readonly<Record<string, V>>) =>
  Object.fromEntries(Object.entries(record).reverse())
const reordered = (state: State): State => ({
  ...state,
  resources: reverseKeys(state.resources),
  nodes: reverseKeys(state.nodes),
  items: reverseKeys(state.items),
})

describe("plan", () => {
  it("is deterministic: the same state, however its maps are ordered, gives the same plan", () => {
    fc.assert(
      fc.property(historyArbitrary, (history) => {
        const state = fold(history)
        expect(plan(reordered(state))).toEqual(plan(state))
        expect(plan(structuredClone(state))).toEqual(plan(state))
      }),
    )
  })

  it("assigns only usable nodes that match, within replicas and parallelism", () => {
    fc.assert(
      fc.property(historyArbitrary, (history) => {
        const state = fold(history)
        const result = plan(state)
        for (const resource of Object.values(state.resources)) {
          if (resource.kind !== "ImageSync") continue
          const assigned = nodesOf(result, resource.name)
          if (resource.spec.suspend) expect(assigned).toEqual([])
          for (const node of assigned) {
            const known = state.nodes[node]
            expect(known?.ready && !known.diskPressure).toBe(true)
            expect(selectorMatches(resource.spec.nodeSelector, known?.labels ?? {})).toBe(true)
          }
          if (resource.spec.replicas !== undefined)
            expect(assigned.length).toBeLessThanOrEqual(resource.spec.replicas)
          const key = { kind: "ImageSync", namespace: resource.namespace, name: resource.name } as const
          const phase = (node: string, image: string) => state.items[statusKey(key, node, image)]?.phase
          const images = result.assignments.filter((a) => a.resource.name === resource.name)
          const pulling = images.filter((a) =>
            a.assignment.kind === "ImageSync"
              ? a.assignment.images.some((i) => ["Pulling", "Removed"].includes(phase(a.node, i) ?? ""))
              : false,
          ).length
          // Nodes told to start pulling something they have not tried yet stay within the free slots.
          const starting = images.filter(
            (a) =>
              a.assignment.kind === "ImageSync" &&
              !a.assignment.images.some((i) =>
                ["Pulling", "Removed", "Failed"].includes(phase(a.node, i) ?? ""),
              ) &&
              a.assignment.images.some((i) => phase(a.node, i) === undefined),
          ).length
          expect(starting).toBeLessThanOrEqual(Math.max(0, resource.spec.parallelism - pulling))
        }
      }),
    )
  })

  it("rolls out parallelism nodes at a time, and failed nodes do not hold a slot", () => {
    const spec = { images: ["nginx:1"], parallelism: 2 }
    const start = stored([...world(5), imageSyncApplied("web", spec)])
    const first = plan(fold(start))
    expect(nodesOf(first, "web")).toHaveLength(2)
    expect(first.resources[0]?.desiredNodes).toEqual(["n1", "n2", "n3", "n4", "n5"])

    const [a, b] = nodesOf(first, "web") as [string, string]
    const progressed = fold(
      stored([imageReported("web", a, image, "Ready"), imageReported("web", b, image, "Pulling")], 7),
      fold(start),
    )
    const second = plan(progressed)
    expect(nodesOf(second, "web")).toHaveLength(3)
    expect(nodesOf(second, "web")).toEqual(expect.arrayContaining([a, b]))

    const failed = fold(stored([imageReported("web", b, image, "Failed")], 9), progressed)
    expect(nodesOf(plan(failed), "web")).toHaveLength(4)
  })

  it("does not exceed parallelism when a spec change adds an image to nodes that are all ready", () => {
    const ready = (node: string) => imageReported("web", node, image, "Ready")
    const history = stored([
      ...world(6),
      imageSyncApplied("web", { images: ["nginx:1"], parallelism: 2 }),
      ...[1, 2, 3, 4, 5, 6].map((i) => ready(`n${i}`)),
      imageSyncApplied("web", { images: ["nginx:1", "nginx:2"], parallelism: 2 }, { generation: 2 }),
    ])
    const result = plan(fold(history))
    const withNew = result.assignments.filter(
      (a) => a.assignment.kind === "ImageSync" && a.assignment.images.includes("docker.io/library/nginx:2"),
    )
    expect(withNew).toHaveLength(2)
    // The others keep what they hold while they wait.
    expect(result.assignments).toHaveLength(6)
  })

  it("keeps replicas on the nodes that already hold the images", () => {
    const start = fold(stored([...world(4), imageSyncApplied("web", { images: ["nginx:1"], replicas: 1 })]))
    const [chosen] = nodesOf(plan(start), "web")
    expect(chosen).toBeDefined()
    const held = fold(
      stored([imageReported("web", chosen ?? "", image, "Ready"), nodeObserved("n0")], 6),
      start,
    )
    expect(nodesOf(plan(held), "web")).toEqual([chosen])
  })

  it("pauses nodes under disk pressure or NotReady, and moves to them again when they recover", () => {
    const history = stored([
      nodeObserved("n1"),
      nodeObserved("n2", {}, { diskPressure: true }),
      nodeObserved("n3", {}, { ready: false }),
      imageSyncApplied("web", { images: ["nginx:1"] }),
    ])
    const paused = plan(fold(history))
    expect(nodesOf(paused, "web")).toEqual(["n1"])
    expect(paused.resources[0]?.pausedNodes).toEqual(["n2", "n3"])
    const recovered = fold(stored([nodeObserved("n2"), nodeObserved("n3")], 5), fold(history))
    expect(nodesOf(plan(recovered), "web")).toEqual(["n1", "n2", "n3"])
  })

  it("selects by labels and nodeNames, and stamps the spec's sequence, not the latest", () => {
    const history = stored([
      ...world(3, (i) => ({ pool: i === 2 ? "gpu" : "general" })),
      imageSyncApplied("web", {
        images: ["nginx:1"],
        nodeSelector: { matchLabels: { pool: "general" } },
        nodeNames: ["n2", "n3"],
      }),
      imageReported("web", "n2", image, "Pulling"),
    ])
    const result = plan(fold(history))
    expect(nodesOf(result, "web")).toEqual(["n2"])
    expect(result.assignments[0]?.assignment.plannedFromSequence).toBe(4)
    expect(result.assignments[0]?.assignment).toMatchObject({
      kind: "ImageSync",
      images: [image],
      pullPolicy: "IfNotPresent",
    })
  })

  it("assigns nothing while suspended", () => {
    const history = stored([...world(2), imageSyncApplied("web", { images: ["nginx:1"], suspend: true })])
    expect(plan(fold(history)).assignments).toEqual([])
  })
  it("bounds the pulls from one registry across every resource of the cluster", () => {
    const history = stored([
      ...world(4),
      imageSyncApplied("a", { images: ["nginx:1"], parallelism: 4 }),
      imageSyncApplied("b", { images: ["nginx:2"], parallelism: 4 }),
      imageSyncApplied("c", { images: ["ghcr.io/o/app:1"], parallelism: 4 }),
    ])
    const result = plan(fold(history), { maxPullsPerRegistry: 3 })
    // docker.io: 3 grants shared by a and b; ghcr.io has its own budget.
    expect(nodesOf(result, "a").length + nodesOf(result, "b").length).toBe(3)
    expect(nodesOf(result, "c")).toHaveLength(3)
  })
})
