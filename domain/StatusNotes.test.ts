import { describe, expect, it } from "vitest"
import type { ImageSyncStatus } from "./ImageSync.ts"
import { statusNotes } from "./StatusNotes.ts"

const condition = (type: string, status: "True" | "False", message = "") => ({
  type,
  status,
  reason: "r",
  message,
  lastTransitionTime: "t",
})
const failure = (node: string, since: string) => ({
  node,
  image: "app:1",
  reason: "Unauthorized",
  message: "401",
  since,
})

describe("statusNotes", () => {
  it("notes Ready once, when it becomes true", () => {
    const ready: ImageSyncStatus = { conditions: [condition("Ready", "True", "2/2 nodes hold every image")] }
    expect(statusNotes(undefined, ready).map((n) => n.reason)).toEqual(["Ready"])
    expect(statusNotes(ready, ready)).toEqual([])
  })

  it("aggregates a failure per reason and image, and notes its recovery", () => {
    const failing: ImageSyncStatus = { recentFailures: [failure("n1", "t1"), failure("n2", "t1")] }
    const [note] = statusNotes(undefined, failing)
    expect(note).toMatchObject({ key: "failed|Unauthorized|app:1", type: "Warning", reason: "Unauthorized" })
    expect(note?.message).toContain("fails on 2 node(s) (n1, n2)")
    expect(statusNotes(failing, failing)).toEqual([])
    expect(statusNotes(failing, { recentFailures: [] }).map((n) => n.reason)).toEqual(["PullRecovered"])
  })
})
