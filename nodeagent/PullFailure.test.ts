import { describe, expect, it } from "vitest"
import { parseGoDuration } from "../domain/GoDuration.ts"
import { classifyPullFailure } from "./PullFailure.ts"

describe("classifyPullFailure", () => {
  it.each([
    [
      "UNKNOWN",
      'failed to resolve reference "x": unexpected status from HEAD request: 401 Unauthorized',
      "Unauthorized",
    ],
    ["UNKNOWN", 'failed to resolve reference "x": x: not found', "ImageNotFound"],
    ["DEADLINE_EXCEEDED", "Deadline exceeded", "Timeout"],
    [
      "UNKNOWN",
      "failed to do request: Head http://127.0.0.1:1/v2/x/manifests/1: dial tcp 127.0.0.1:1: connect: connection refused",
      "RegistryUnavailable",
    ],
    ["UNKNOWN", "failed to extract layer: something odd", "PullFailed"],
  ] as const)("%s %s → %s", (code, details, reason) => {
    expect(classifyPullFailure({ code, details })).toBe(reason)
  })
})

describe("parseGoDuration", () => {
  it("reads Go durations", () => {
    expect(parseGoDuration("1h30m")).toBe(5_400_000)
    expect(parseGoDuration("250ms")).toBe(250)
    expect(parseGoDuration("1.5s")).toBe(1500)
    expect(parseGoDuration("5 minutes")).toBeUndefined()
  })
})
