/**
 * Writes `NodeMarks` onto Node objects: adds and removes Coral's image labels so they match what
 * each node holds, and removes the `coral.stvz.io/warming` taint from a node once it is warm. Only
 * nodes whose differences are real get a patch, so a pass over a quiet cluster writes nothing.
 */
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node } from "@kubernetes/client-node"
import { Effect } from "effect"
import { imageLabelPrefix, type NodeMarks, warmingTaintKey } from "../domain/NodeMarks.ts"
import { kubeRequest } from "../k8s/KubeRequest.ts"

export const markNodes = (
  core: CoreV1Api,
  nodes: ReadonlyArray<V1Node>,
  marks: ReadonlyMap<string, NodeMarks>,
): Effect.Effect<number> =>
  Effect.gen(function* () {
    let patches = 0
    for (const node of nodes) {
      const name = node.metadata?.name ?? ""
      const mark = marks.get(name)
      if (!mark) continue
      const current = node.metadata?.labels ?? {}
      const labels: Record<string, string | null> = {}
      for (const [key, value] of Object.entries(mark.imageLabels))
        if (current[key] !== value) labels[key] = value
      for (const key of Object.keys(current)) {
        if (key.startsWith(imageLabelPrefix) && !(key in mark.imageLabels)) labels[key] = null
      }
      const taints = node.spec?.taints ?? []
      const dropTaint = mark.warm && taints.some((t) => t.key === warmingTaintKey)
      if (Object.keys(labels).length === 0 && !dropTaint) continue
      const body = {
        ...(Object.keys(labels).length > 0 ? { metadata: { labels } } : {}),
        ...(dropTaint ? { spec: { taints: taints.filter((t) => t.key !== warmingTaintKey) } } : {}),
      }
      const patched = yield* kubeRequest(`patch Node ${name}`, () =>
        core.patchNode({ name, body }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
      ).pipe(Effect.exit)
      if (patched._tag === "Failure") {
        yield* Effect.logWarning("node not marked; the next pass retries").pipe(
          Effect.annotateLogs({ node: name, cause: String(patched.cause) }),
        )
        continue
      }
      if (dropTaint)
        yield* Effect.logInfo("node is warm: warming taint removed").pipe(Effect.annotateLogs({ node: name }))
      patches++
    }
    return patches
  })
