import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  historyArbitrary,
  imageReported,
  imageSyncApplied,
  nodeObserved,
  nodeRemoved,
  resourceDeleted,
  stored,
} from "../tests/support/events.ts"
import type { CoralEvent } from "./Events.ts"
import { plan } from "./Planner.ts"
import { emptyState, fold, statusKey } from "./Projection.ts"

const web = { kind: "ImageSync", namespace: "default", name: "web" } as const

describe("projection", () => {
  it("replaying the same events in any batching gives the same state and the same plan", () => {
    fc.assert(
      fc.property(historyArbitrary, fc.array(fc.nat(), { maxLength: 5 }), (history, cuts) => {
        const points = [...new Set(cuts.map((cut) => cut % (history.length + 1)))].sort((a, b) => a - b)
        let state = emptyState
        let from = 0
        for (const point of [...points, history.length]) {
          state = fold(history.slice(from, point), state)
          from = point
        }
        const whole = fold(history)
        expect(state).toEqual(whole)
        expect(plan(state)).toEqual(plan(whole))
      }),
    )
  })

  it("a status report for an unknown resource, node or image changes nothing but the sequence", () => {
    fc.assert(
      fc.property(historyArbitrary, fc.constantFrom("resource", "node", "image"), (history, unknown) => {
        const before = fold(history)
        const report =
          unknown === "resource"
            ? imageReported("no-such-sync", "n1", "docker.io/library/nginx:1", "Ready")
            : unknown === "node"
              ? imageReported("web", "no-such-node", "docker.io/library/nginx:1", "Ready")
              : imageReported("web", "n1", "docker.io/library/never-listed:1", "Ready")
        const after = fold(stored([report], history.length + 1), before)
        expect({ ...after, lastSequence: before.lastSequence }).toEqual(before)
        expect(after.lastSequence).toBe(history.length + 1)
      }),
    )
  })

  it("records a report under the canonical image, with the time its phase began", () => {
    const state = fold(
      stored([
        nodeObserved("n1"),
        imageSyncApplied("web", { images: ["nginx:1"] }),
        imageReported("web", "n1", "docker.io/library/nginx:1", "Pulling"),
        imageReported("web", "n1", "docker.io/library/nginx:1", "Pulling"),
        imageReported("web", "n1", "docker.io/library/nginx:1", "Ready"),
      ]),
    )
    const status = state.items[statusKey(web, "n1", "docker.io/library/nginx:1")]
    expect(status?.phase).toBe("Ready")
    expect(status?.sequence).toBe(5)
    expect(state.lastSequence).toBe(5)
  })

  it("ignores a late, older generation and forgets a deleted resource's reports", () => {
    const history = stored([
      nodeObserved("n1"),
      imageSyncApplied("web", { images: ["nginx:1"] }, { generation: 2 }),
      imageSyncApplied("web", { images: ["nginx:0"] }, { generation: 1 }),
      imageReported("web", "n1", "docker.io/library/nginx:1", "Ready"),
    ])
    const state = fold(history)
    expect(state.resources["ImageSync/default/web"]?.generation).toBe(2)
    const deleted = fold(stored([resourceDeleted("web")], 5), state)
    expect(deleted.resources).toEqual({})
    expect(deleted.items).toEqual({})
  })

  it("never brings back a deleted resource or removed node from a late fact", () => {
    const state = fold(
      stored([
        nodeObserved("n1"),
        imageSyncApplied("web", { images: ["nginx:1"] }),
        resourceDeleted("web"),
        imageSyncApplied("web", { images: ["nginx:1"] }),
        nodeRemoved("n1"),
        nodeObserved("n1"),
      ]),
    )
    expect(state.resources).toEqual({})
    expect(state.nodes).toEqual({})
  })

  it("forgets reports of images the spec dropped, and ignores reports for an earlier incarnation", () => {
    const base = stored([
      nodeObserved("n1"),
      imageSyncApplied("web", { images: ["nginx:1"] }, { uid: "old" }),
      imageReported("web", "n1", "docker.io/library/nginx:1", "Ready"),
      imageSyncApplied("web", { images: ["nginx:2"] }, { uid: "old", generation: 2 }),
      imageSyncApplied("web", { images: ["nginx:1"] }, { uid: "old", generation: 3 }),
    ])
    expect(fold(base).items).toEqual({})
    const late = { ...imageReported("web", "n1", "docker.io/library/nginx:1", "Ready") } as CoralEvent
    const tagged = { ...late, data: { ...(late.data as object), resourceUid: "someone-else" } } as CoralEvent
    expect(fold(stored([tagged], 6), fold(base)).items).toEqual({})
  })
  it("takes from an observation subject only the reporter's own reports", () => {
    const obs = (node: string) => `coral.obs.test.imagesync.default.web.node-${node}`
    const base = stored([
      nodeObserved("n1"),
      nodeObserved("n2"),
      imageSyncApplied("web", { images: ["nginx:1"] }),
    ])
    const before = fold(base)
    const forged = [
      { sequence: 4, subject: obs("n1"), event: resourceDeleted("web") },
      { sequence: 5, subject: obs("n1"), event: nodeRemoved("n2") },
      {
        sequence: 6,
        subject: obs("n1"),
        event: imageReported("web", "n2", "docker.io/library/nginx:1", "Ready"),
      },
    ]
    const after = fold(forged, before)
    expect({ ...after, lastSequence: before.lastSequence }).toEqual(before)
    const own = fold(
      [
        {
          sequence: 7,
          subject: obs("n1"),
          event: imageReported("web", "n1", "docker.io/library/nginx:1", "Ready"),
        },
      ],
      after,
    )
    expect(Object.keys(own.items)).toEqual(["ImageSync/default/web|n1|docker.io/library/nginx:1"])
  })
  it("forgets deleted uids after the retention, so the set does not grow forever", () => {
    const later = (event: CoralEvent, days: number) =>
      ({ ...event, occurredAt: new Date(Date.UTC(2026, 0, 1 + days)).toISOString() }) as CoralEvent
    const state = fold(
      stored([
        later(imageSyncApplied("old", { images: ["nginx:1"] }), 0),
        later(resourceDeleted("old"), 0),
        later(imageSyncApplied("new", { images: ["nginx:1"] }), 8),
        later(resourceDeleted("new"), 8),
      ]),
    )
    expect(Object.keys(state.removed)).toEqual(["resource:uid-new"])
  })
})
