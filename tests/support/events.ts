/**
 * Builders of Coral events for tests, and fast-check arbitraries that produce plausible event
 * histories over a small world (two namespaces' worth of resources, five nodes, four images), so
 * that collisions — reports for deleted resources, nodes that come and go — happen often.
 */

import { Schema } from "effect"
import fc from "fast-check"
import { type CoralEvent, type StoredEvent, schemaVersion } from "../../domain/Events.ts"
import { ImageSyncSpec } from "../../domain/ImageSync.ts"

let counter = 0
const envelope = (type: string, data: unknown) => ({
  id: `e${++counter}`,
  type,
  cluster: "test",
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, counter)).toISOString(),
  schemaVersion,
  data,
})

export const imageSyncApplied = (
  name: string,
  spec: Record<string, unknown>,
  options: { readonly generation?: number; readonly uid?: string; readonly namespace?: string } = {},
): CoralEvent =>
  envelope("ResourceApplied", {
    kind: "ImageSync",
    namespace: options.namespace ?? "default",
    name,
    uid: options.uid ?? `uid-${name}`,
    generation: options.generation ?? 1,
    resourceVersion: "1",
    spec: Schema.decodeUnknownSync(ImageSyncSpec)(spec),
  }) as CoralEvent

export const resourceDeleted = (name: string, uid = `uid-${name}`, namespace = "default"): CoralEvent =>
  envelope("ResourceDeleted", { kind: "ImageSync", namespace, name, uid }) as CoralEvent

export const nodeObserved = (
  name: string,
  labels: Record<string, string> = {},
  condition: { readonly ready?: boolean; readonly diskPressure?: boolean } = {},
): CoralEvent =>
  envelope("NodeObserved", {
    name,
    uid: `uid-${name}`,
    labels,
    ready: condition.ready ?? true,
    diskPressure: condition.diskPressure ?? false,
    pidPressure: false,
    unschedulable: false,
    taints: [],
  }) as CoralEvent

export const nodeRemoved = (name: string): CoralEvent =>
  envelope("NodeRemoved", { name, uid: `uid-${name}` }) as CoralEvent

export const imageReported = (
  name: string,
  node: string,
  image: string,
  phase: "Pulling" | "Ready" | "Failed" | "Removed",
  namespace = "default",
): CoralEvent =>
  envelope("ImageStatusReported", {
    node,
    namespace,
    name,
    image,
    phase,
    ...(phase === "Failed" ? { reason: "Unauthorized", message: "401" } : {}),
  }) as CoralEvent

export const stored = (events: ReadonlyArray<CoralEvent>, first = 1): Array<StoredEvent> =>
  events.map((event, index) => ({ sequence: first + index, subject: "test", event }))

const nodes = ["n1", "n2", "n3", "n4", "n5"]
const names = ["web", "batch", "gpu"]
const images = ["nginx:1", "docker.io/library/nginx:1", "ghcr.io/o/app:2", "registry.local:5000/x/y:3"]
export const canonicalImagesOfWorld = [
  "docker.io/library/nginx:1",
  "ghcr.io/o/app:2",
  "registry.local:5000/x/y:3",
]

const specArbitrary = fc.record(
  {
    images: fc.uniqueArray(fc.constantFrom(...images), { minLength: 1, maxLength: 3 }),
    nodeSelector: fc.option(
      fc.oneof(
        fc.record({ matchLabels: fc.record({ pool: fc.constantFrom("general", "gpu") }) }),
        fc.record({
          matchExpressions: fc.constant([{ key: "zone", operator: "NotIn", values: ["z2"] }]),
        }),
      ),
      { nil: undefined },
    ),
    replicas: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    parallelism: fc.integer({ min: 1, max: 3 }),
    suspend: fc.boolean(),
  },
  { requiredKeys: ["images", "parallelism"] },
)

const withoutUndefined = (record: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined))

const eventArbitrary: fc.Arbitrary<CoralEvent> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...names),
      specArbitrary,
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom("a", "b"),
    )
    .map(([name, spec, generation, incarnation]) =>
      imageSyncApplied(name, withoutUndefined(spec), { generation, uid: `uid-${name}-${incarnation}` }),
    ),
  fc
    .tuple(fc.constantFrom(...names), fc.constantFrom("a", "b"))
    .map(([name, incarnation]) => resourceDeleted(name, `uid-${name}-${incarnation}`)),
  fc
    .tuple(
      fc.constantFrom(...nodes),
      fc.constantFrom("general", "gpu"),
      fc.constantFrom("z1", "z2"),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([node, pool, zone, ready, diskPressure]) =>
      nodeObserved(node, { pool, zone }, { ready, diskPressure: diskPressure && zone === "z2" }),
    ),
  fc.constantFrom(...nodes).map(nodeRemoved),
  fc
    .tuple(
      fc.constantFrom(...names, "unknown"),
      fc.constantFrom(...nodes, "ghost"),
      fc.constantFrom(...canonicalImagesOfWorld, "docker.io/library/other:1"),
      fc.constantFrom("Pulling" as const, "Ready" as const, "Failed" as const, "Removed" as const),
    )
    .map(([name, node, image, phase]) => imageReported(name, node, image, phase)),
)

/** A history of 0–60 events, numbered from sequence 1. */
export const historyArbitrary = fc.array(eventArbitrary, { maxLength: 60 }).map((events) => stored(events))
