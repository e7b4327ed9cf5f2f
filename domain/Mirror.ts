/**
 * `Mirror` (coral.stvz.io/v1alpha1): images copied from external registries into a registry the
 * cluster owns, re-synced on an interval, optionally to other clusters' registries too.
 */
import { Schema } from "effect"
import { ImageReferenceField } from "./ImageSync.ts"
import {
  DnsLabel,
  DurationString,
  defaulted,
  LocalObjectReference,
  NonNegativeInt,
  PositiveInt,
  statusBase,
  withRules,
} from "./KubernetesSchema.ts"

const RegistryHost = Schema.String.check(
  Schema.isMaxLength(255),
  Schema.isPattern(
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/u,
    { expected: "a registry host[:port], without scheme or path" },
  ),
)

const RepositoryPath = Schema.String.check(
  Schema.isMaxLength(255),
  Schema.isPattern(
    /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$/u,
    {
      expected: "a lowercase repository path",
    },
  ),
)

// node-semver's range grammar: comparator sets joined by ||, each a list of comparators or a hyphen range.
const semverPartial =
  "v?(?:0|[1-9][0-9]*|[xX*])(?:\\.(?:0|[1-9][0-9]*|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?"
const semverComparator = `(?:[~^]|[<>]=?|=)?\\s*${semverPartial}`
const semverSet = `(?:${semverPartial}\\s+-\\s+${semverPartial}|${semverComparator}(?:\\s+${semverComparator})*)`
export const semverRangePattern = `^\\s*${semverSet}(?:\\s*\\|\\|\\s*${semverSet})*\\s*$`

const semverRegExp = new RegExp(semverRangePattern)

export const MirrorTarget = Schema.Struct({
  registry: RegistryHost,
  repositoryPrefix: Schema.optionalKey(RepositoryPath).annotate({
    description: "Prepended to each source repository path in the target registry.",
  }),
  insecure: defaulted(Schema.Boolean, false).annotate({ description: "Plain HTTP to the target registry." }),
  credentialsSecret: Schema.optionalKey(LocalObjectReference),
})

export const MirrorRepository = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512)).annotate({
    description: "Source repository, e.g. docker.io/library/nginx or ghcr.io/org/app.",
  }),
  tags: Schema.optionalKey(
    Schema.Array(Schema.String.check(Schema.isMaxLength(128))).check(Schema.isMaxLength(256)),
  ),
  tagPattern: Schema.optionalKey(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
  ).annotate({
    description: "Regular expression (RE2 syntax) a tag must match in full.",
    ...withRules({
      rule: "''.matches(self) || !''.matches(self)",
      message: "tagPattern must be a valid regular expression",
    }),
  }),
  semver: Schema.optionalKey(
    Schema.String.check(
      Schema.isMinLength(1),
      Schema.isMaxLength(128),
      // A CEL rule rather than a pattern, so a rejection says what is expected instead of quoting the regex.
      Schema.makeFilter((range: string) => semverRegExp.test(range), {
        expected: "a semantic-version range",
      }),
    ),
  ).annotate({
    description: "Semantic-version range, e.g. >=1.2 <2 or ^1.4.",
    ...withRules({
      rule: `self.matches('${semverRangePattern.replaceAll("\\", "\\\\")}')`,
      messageExpression: `"'" + self + "' is not a semantic-version range (examples: >=1.2.0 <2.0.0, ^1.4, ~2.1, 1.x)"`,
    }),
  }),
  latest: Schema.optionalKey(PositiveInt).annotate({
    description: "Keep only the newest N tags that pass the other filters.",
  }),
}).annotate(
  withRules({
    rule: "has(self.tags) || has(self.tagPattern) || has(self.semver) || has(self.latest)",
    message: "choose tags with at least one of tags, tagPattern, semver or latest",
  }),
)

const Platform = Schema.String.check(
  Schema.isMaxLength(64),
  Schema.isPattern(/^(?:all|[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?)$/u, {
    expected: "all, or os/architecture[/variant] such as linux/amd64",
  }),
)

export const MirrorSpec = Schema.Struct({
  target: MirrorTarget,
  images: Schema.optionalKey(
    Schema.Array(ImageReferenceField)
      .check(Schema.isMaxLength(256))
      .annotate({ kubernetes: { listType: "set" } }),
  ),
  repositories: Schema.optionalKey(Schema.Array(MirrorRepository).check(Schema.isMaxLength(64))),
  platforms: defaulted(
    Schema.Array(Platform)
      .check(Schema.isMinLength(1), Schema.isMaxLength(16))
      .annotate({
        description: "Platforms to copy from multi-platform images: all, or a list such as linux/amd64.",
        kubernetes: {
          listType: "set",
          validations: [
            {
              rule: "!('all' in self) || size(self) == 1",
              message: "'all' cannot be combined with other platforms",
            },
          ],
        },
      }),
    ["all"],
  ),
  interval: defaulted(DurationString, "1h").annotate({ description: "How often the mirror re-syncs." }),
  credentialsSecret: Schema.optionalKey(LocalObjectReference).annotate({
    description: "Pull credentials for the source registries (dockerconfigjson).",
  }),
  clusters: Schema.optionalKey(
    Schema.Array(DnsLabel)
      .check(Schema.isMaxLength(64))
      .annotate({
        description: "Other clusters whose registries this mirror must also reach.",
        kubernetes: { listType: "set" },
      }),
  ),
  suspend: defaulted(Schema.Boolean, false),
}).annotate(
  withRules({
    rule: "(has(self.images) && size(self.images) > 0) || (has(self.repositories) && size(self.repositories) > 0)",
    message: "a Mirror needs at least one entry in images or repositories",
  }),
)
export type MirrorSpec = typeof MirrorSpec.Type

export const MirroredImage = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  digest: Schema.optionalKey(Schema.String),
  lastSynced: Schema.optionalKey(Schema.String),
  bytes: Schema.optionalKey(NonNegativeInt),
})

export const MirrorStatus = Schema.Struct({
  ...statusBase,
  images: Schema.optionalKey(Schema.Array(MirroredImage)),
})
export type MirrorStatus = typeof MirrorStatus.Type
