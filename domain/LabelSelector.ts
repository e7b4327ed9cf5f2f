/**
 * Kubernetes label selectors (`metav1.LabelSelector`) with Kubernetes' semantics: `matchLabels` and
 * `matchExpressions` are ANDed; the empty selector matches everything; `In` needs the key with one of
 * the values; `NotIn` matches when the key is missing or has none of the values; `Exists` and
 * `DoesNotExist` look only at the key.
 */
import { Schema } from "effect"

export const LabelSelectorOperator = Schema.Literals(["In", "NotIn", "Exists", "DoesNotExist"])
export type LabelSelectorOperator = typeof LabelSelectorOperator.Type

export const LabelSelectorRequirement = Schema.Struct({
  key: Schema.String,
  operator: LabelSelectorOperator,
  values: Schema.optionalKey(Schema.Array(Schema.String)),
})
export type LabelSelectorRequirement = typeof LabelSelectorRequirement.Type

export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  matchExpressions: Schema.optionalKey(Schema.Array(LabelSelectorRequirement)),
})
export type LabelSelector = typeof LabelSelector.Type

type Labels = Readonly<Record<string, string>>

const requirementMatches = (requirement: LabelSelectorRequirement, labels: Labels): boolean => {
  const has = Object.hasOwn(labels, requirement.key)
  const values = requirement.values ?? []
  switch (requirement.operator) {
    case "In":
      return has && values.includes(labels[requirement.key] ?? "")
    case "NotIn":
      return !has || !values.includes(labels[requirement.key] ?? "")
    case "Exists":
      return has
    case "DoesNotExist":
      return !has
  }
}

export const selectorMatches = (selector: LabelSelector | undefined, labels: Labels): boolean =>
  Object.entries(selector?.matchLabels ?? {}).every(
    ([key, value]) => Object.hasOwn(labels, key) && labels[key] === value,
  ) && (selector?.matchExpressions ?? []).every((requirement) => requirementMatches(requirement, labels))
