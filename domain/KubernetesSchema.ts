/**
 * Building blocks shared by Coral's resource schemas, and the `kubernetes` schema annotation that
 * carries what only a CRD can say (a server-side default, CEL rules with their messages, list
 * semantics). The CRD generator reads these annotations; the domain's own decoding applies the same
 * defaults, so an object means the same thing whether the API server or Coral filled it in.
 */
import { Effect, Schema, SchemaAST } from "effect"
import { LabelSelectorRequirement } from "./LabelSelector.ts"

export interface CelRule {
  readonly rule: string
  readonly message?: string
  readonly messageExpression?: string
  readonly fieldPath?: string
  readonly reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate"
}

export interface KubernetesAnnotation {
  readonly default?: unknown
  readonly validations?: ReadonlyArray<CelRule>
  readonly listType?: "atomic" | "set" | "map"
  readonly listMapKeys?: ReadonlyArray<string>
}

declare module "effect/Schema" {
  namespace Annotations {
    interface Annotations {
      readonly kubernetes?: KubernetesAnnotation | undefined
    }
  }
}

/** A field that may be omitted, in which case both the API server and Coral's decoding use `value`. */
export const defaulted = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
    .annotate({ kubernetes: { ...SchemaAST.resolve(schema.ast)?.kubernetes, default: value } })

export const withRules = (...validations: ReadonlyArray<CelRule>) => ({ kubernetes: { validations } })

/** Go-style durations as Kubernetes users write them: `30s`, `5m`, `1h30m`, `250ms`. */
export const DurationString = Schema.String.check(
  Schema.isMaxLength(32),
  Schema.isPattern(/^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/u, {
    expected: "a duration such as 30s, 5m or 1h30m",
  }),
  Schema.makeFilter((text: string) => /[1-9]/.test(text), { expected: "a duration greater than zero" }),
).annotate(withRules({ rule: "self.matches('[1-9]')", message: "must be greater than zero" }))

/** A DNS-1123 label: lowercase letters, digits and `-`, at most 63. */
export const DnsLabel = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(63),
  Schema.isPattern(/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/u, { expected: "a DNS label" }),
)

/** A DNS-1123 subdomain (the name of most Kubernetes objects). */
export const ObjectName = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(253),
  Schema.isPattern(/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/u, {
    expected: "a Kubernetes object name",
  }),
)

/** A reference to an object in the resource's own namespace, as in a Pod's `imagePullSecrets`. */
export const LocalObjectReference = Schema.Struct({ name: ObjectName })

export const Backoff = Schema.Struct({
  base: defaulted(DurationString, "5s").annotate({
    description: "First retry delay; doubles on each failure.",
  }),
  max: defaulted(DurationString, "5m").annotate({ description: "Longest delay between retries." }),
}).annotate(
  withRules({
    rule: "!has(self.base) || !has(self.max) || duration(self.max) >= duration(self.base)",
    message: "max must not be shorter than base",
  }),
)

const selectorValuesRule: CelRule = {
  rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
  message: "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
}

const LabelKey = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(317),
  // Prefix: a DNS subdomain of at most 253; name: at most 63 (the API server's own rules).
  Schema.isPattern(
    /^(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/u,
    { expected: "a label key ([prefix/]name, name at most 63 characters)" },
  ),
  Schema.makeFilter((key: string) => key.indexOf("/") <= 253, {
    expected: "a label key whose prefix is at most 253 characters",
  }),
)
const LabelValue = Schema.String.check(
  Schema.isMaxLength(63),
  Schema.isPattern(/^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/u, { expected: "a label value" }),
)

/** `metav1.LabelSelector` with the API server's own rules on keys, values and operators. */
export const NodeSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(Schema.Record(LabelKey, LabelValue).check(Schema.isMaxProperties(64))),
  matchExpressions: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        ...LabelSelectorRequirement.fields,
        key: LabelKey,
        values: Schema.optionalKey(Schema.Array(LabelValue).check(Schema.isMaxLength(64))),
      }).annotate(withRules(selectorValuesRule)),
    ).check(Schema.isMaxLength(32)),
  ),
}).annotate({
  description: "Standard label selector; the empty selector matches every node.",
})

export const ConditionStatus = Schema.Literals(["True", "False", "Unknown"])

/** A standard `metav1.Condition`. */
export const Condition = Schema.Struct({
  type: Schema.String,
  status: ConditionStatus,
  reason: Schema.String,
  message: Schema.String,
  lastTransitionTime: Schema.String,
  observedGeneration: Schema.optionalKey(Schema.Int),
})
export type Condition = typeof Condition.Type

export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
export const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** Fields every Coral status has: what generation and which stream sequence it reflects. */
export const statusBase = {
  observedGeneration: Schema.optionalKey(NonNegativeInt),
  conditions: Schema.optionalKey(Schema.Array(Condition)),
  lastEventSequence: Schema.optionalKey(NonNegativeInt).annotate({
    description: "The CORAL_EVENTS stream sequence this status reflects (see `coral audit`).",
  }),
}
