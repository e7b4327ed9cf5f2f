/**
 * What deserves a Kubernetes Event when an ImageSync's status changes, for `kubectl describe`
 * readers: the resource became Ready, a pull started failing for a (reason, image) pair, or it
 * stopped failing. Pure: compares two statuses. Repeats of the same note are aggregated by its key
 * (an Event's count goes up), so retries never flood the API server.
 */
import type { ImageSyncStatus } from "./ImageSync.ts"

export interface StatusNote {
  /** Aggregation key: the same key updates one Event instead of creating another. */
  readonly key: string
  readonly type: "Normal" | "Warning"
  readonly reason: string
  readonly message: string
}

const conditionStatus = (status: ImageSyncStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type)

export const statusNotes = (
  before: ImageSyncStatus | undefined,
  after: ImageSyncStatus,
): ReadonlyArray<StatusNote> => {
  const notes: Array<StatusNote> = []
  const ready = conditionStatus(after, "Ready")
  if (ready?.status === "True" && conditionStatus(before, "Ready")?.status !== "True") {
    notes.push({ key: "ready", type: "Normal", reason: "Ready", message: ready.message })
  }
  const failing = (status: ImageSyncStatus | undefined) =>
    new Map((status?.recentFailures ?? []).map((f) => [`${f.reason}|${f.image}`, f] as const))
  const previous = failing(before)
  const current = failing(after)
  for (const [key, failure] of current) {
    const nodes = (after.recentFailures ?? [])
      .filter((f) => `${f.reason}|${f.image}` === key)
      .map((f) => f.node)
    const earlier = previous.get(key)
    if (earlier && earlier.since === failure.since && earlier.node === failure.node) continue
    notes.push({
      key: `failed|${key}`,
      type: "Warning",
      reason: failure.reason,
      message:
        `pulling ${failure.image} fails on ${nodes.length} node(s) (${nodes.slice(0, 5).join(", ")}${nodes.length > 5 ? ", …" : ""}): ${failure.message}`.slice(
          0,
          1024,
        ),
    })
  }
  for (const [key, failure] of previous) {
    if (current.has(key)) continue
    notes.push({
      key: `recovered|${key}`,
      type: "Normal",
      reason: "PullRecovered",
      message: `${failure.image} no longer fails with ${failure.reason}`,
    })
  }
  return notes
}
