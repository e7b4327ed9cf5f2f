import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { desiredKey, escapeToken, observationSubject, specSubject, unescapeToken } from "./Subjects.ts"

describe("escapeToken", () => {
  it("is reversible for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (value) => {
        expect(unescapeToken(escapeToken(value))).toBe(value)
      }),
    )
  })

  it("produces only NATS-safe token characters", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(escapeToken(value)).toMatch(/^[A-Za-z0-9_=-]*$/)
      }),
    )
  })

  it("keeps distinct names distinct", () => {
    expect(escapeToken("a.b")).not.toBe(escapeToken("a=2Eb"))
    expect(escapeToken("a.b")).toBe("a=2Eb")
  })
})

describe("subjects", () => {
  it("put dotted Kubernetes names into single tokens", () => {
    const key = { kind: "ImageSync", namespace: "team.a", name: "web.images" } as const
    expect(specSubject("prod.eu", key)).toBe("coral.evt.prod=2Eeu.imagesync.team=2Ea.web=2Eimages")
    expect(observationSubject("c", key, { node: "ip-10-0-0-1.ec2.internal" })).toBe(
      "coral.obs.c.imagesync.team=2Ea.web=2Eimages.node-ip-10-0-0-1=2Eec2=2Einternal",
    )
    expect(desiredKey("c", "node.1", key)).toBe("c.node=2E1.imagesync.team=2Ea.web=2Eimages")
  })
})
