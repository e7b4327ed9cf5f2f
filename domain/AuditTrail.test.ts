import { describe, expect, it } from "vitest"
import {
  imageReported,
  imageSyncApplied,
  nodeObserved,
  resourceDeleted,
  stored,
} from "../tests/support/events.ts"
import { auditTrail } from "./AuditTrail.ts"

describe("auditTrail", () => {
  it("tells who changed the spec, what was planned, what each node did, and the deletion, in order", () => {
    const history = stored([
      nodeObserved("n1"),
      nodeObserved("n2"),
      imageSyncApplied("web", { images: ["nginx:1"] }),
      imageReported("web", "n1", "docker.io/library/nginx:1", "Pulling"),
      imageReported("web", "n1", "docker.io/library/nginx:1", "Ready"),
      imageReported("web", "n2", "docker.io/library/nginx:1", "Failed"),
      imageSyncApplied("other", { images: ["nginx:2"] }),
      resourceDeleted("web"),
    ])
    const trail = auditTrail(history, { kind: "ImageSync", namespace: "default", name: "web" })
    expect(trail.map((e) => `${e.sequence} ${e.actor}: ${e.what}`)).toEqual([
      "3 unknown: spec generation 1 applied (resourceVersion 1): images nginx:1",
      "3 planner: assigned n1 (1 image(s)), n2 (1 image(s))",
      "4 n1: Pulling docker.io/library/nginx:1",
      "5 n1: Ready docker.io/library/nginx:1",
      "6 n2: Failed docker.io/library/nginx:1 Unauthorized: 401",
      "8 kubernetes: deleted",
      "8 planner: no node assigned",
    ])
  })
})
