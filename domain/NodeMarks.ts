/**
 * What Coral marks on Node objects, derived from the projected state and the plan:
 * - one label per managed image the node holds (`image.coral.stvz.io/<hash>: "true"`), so the
 *   admission webhook and the scheduler can steer pods to nodes that already have their images;
 * - whether a node that joined with the `coral.stvz.io/warming` taint is warm: every image assigned
 *   to it is ready, so the taint can go and the node can take pods.
 * Image references are hashed into the label's name because references do not fit label syntax.
 */
import { createHash } from "node:crypto"
import type { Plan } from "./Planner.ts"
import { canonicalImages, type State } from "./Projection.ts"
import { resourceKeyString } from "./Subjects.ts"

export const imageLabelPrefix = "image.coral.stvz.io/"
export const warmingTaintKey = "coral.stvz.io/warming"

/** The label that says a node holds `canonicalImage`. */
export const imageLabelKey = (canonicalImage: string) =>
  `${imageLabelPrefix}${createHash("sha256").update(canonicalImage).digest("hex").slice(0, 40)}`

export interface NodeMarks {
  /** Image labels the node should carry (key → "true"). */
  readonly imageLabels: Readonly<Record<string, string>>
  /** Every image assigned to the node is ready there. */
  readonly warm: boolean
}

export const nodeMarks = (state: State, plan: Plan): ReadonlyMap<string, NodeMarks> => {
  const marks = new Map<string, NodeMarks>()
  // One pass over the reports, grouped by node (not one pass per node).
  const held = new Map<string, Record<string, string>>()
  for (const [key, status] of Object.entries(state.items)) {
    const [resource = "", node = "", item = ""] = key.split("|")
    if (status.phase !== "Ready" || !resource.startsWith("ImageSync/")) continue
    const labels = held.get(node) ?? {}
    labels[imageLabelKey(item)] = "true"
    held.set(node, labels)
  }
  for (const name of Object.keys(state.nodes).sort()) {
    const imageLabels = held.get(name) ?? {}
    // Every image of every ImageSync that wants this node, granted yet or still waiting for a slot.
    const warm = plan.resources
      .filter((r) => r.resource.kind === "ImageSync" && r.desiredNodes.includes(name))
      .every((r) => {
        const resource = state.resources[resourceKeyString(r.resource)]
        const images = resource?.kind === "ImageSync" ? canonicalImages(resource.spec) : []
        return images.every((image) => imageLabels[imageLabelKey(image)] === "true")
      })
    marks.set(name, { imageLabels, warm })
  }
  return marks
}
