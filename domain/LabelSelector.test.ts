import { describe, expect, it } from "vitest"
import { type LabelSelector, selectorMatches } from "./LabelSelector.ts"

const node = { "kubernetes.io/os": "linux", pool: "gpu", zone: "a", empty: "" }

const cases: ReadonlyArray<readonly [string, LabelSelector | undefined, boolean]> = [
  ["no selector matches all", undefined, true],
  ["empty selector matches all", {}, true],
  ["empty lists match all", { matchLabels: {}, matchExpressions: [] }, true],
  ["matchLabels equal", { matchLabels: { pool: "gpu" } }, true],
  ["matchLabels different value", { matchLabels: { pool: "cpu" } }, false],
  ["matchLabels missing key", { matchLabels: { rack: "1" } }, false],
  ["matchLabels empty value present", { matchLabels: { empty: "" } }, true],
  ["matchLabels empty value on missing key", { matchLabels: { rack: "" } }, false],
  ["In with value", { matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }, true],
  ["In without value", { matchExpressions: [{ key: "zone", operator: "In", values: ["c"] }] }, false],
  ["In on missing key", { matchExpressions: [{ key: "rack", operator: "In", values: ["1"] }] }, false],
  ["NotIn with other value", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["c"] }] }, true],
  ["NotIn with the value", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, false],
  [
    "NotIn on missing key matches",
    { matchExpressions: [{ key: "rack", operator: "NotIn", values: ["1"] }] },
    true,
  ],
  ["Exists", { matchExpressions: [{ key: "pool", operator: "Exists" }] }, true],
  ["Exists on missing key", { matchExpressions: [{ key: "rack", operator: "Exists" }] }, false],
  ["DoesNotExist", { matchExpressions: [{ key: "rack", operator: "DoesNotExist" }] }, true],
  ["DoesNotExist on present key", { matchExpressions: [{ key: "pool", operator: "DoesNotExist" }] }, false],
  [
    "labels and expressions are ANDed",
    { matchLabels: { pool: "gpu" }, matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] },
    false,
  ],
  [
    "several expressions all hold",
    {
      matchExpressions: [
        { key: "zone", operator: "In", values: ["a"] },
        { key: "rack", operator: "DoesNotExist" },
      ],
    },
    true,
  ],
  [
    "a key named like a prototype property is only a label",
    { matchExpressions: [{ key: "toString", operator: "Exists" }] },
    false,
  ],
]

describe("selectorMatches", () => {
  it.each(cases)("%s", (_, selector, expected) => {
    expect(selectorMatches(selector, node)).toBe(expected)
  })
})
