/**
 * `coral replay --verify`: rebuilds the control plane's state from CORAL_EVENTS alone and compares
 * what follows from it — the per-node assignments and each ImageSync's status — with what the
 * `coral_desired` bucket and the API server hold. Sealed credentials are random per sealing, so
 * assignments are compared without them; condition transition times are not derivable from the
 * stream, so they are left out. Differences come back as readable lines.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { Effect } from "effect"
import { readDesired } from "../controlplane/AssignmentPublisher.ts"
import { canonicalJson } from "../domain/canonicalJson.ts"
import type { ImageSyncStatus } from "../domain/ImageSync.ts"
import { imageSyncStatus } from "../domain/ImageSyncStatus.ts"
import { type PlanOptions, plan } from "../domain/Planner.ts"
import { fold } from "../domain/Projection.ts"
import { desiredKey, resourceKeyString } from "../domain/Subjects.ts"
import { openDesiredBucket } from "../eventlog/DesiredBucket.ts"
import { replayHistory } from "../eventlog/EventStore.ts"
import { Nats } from "../eventlog/Nats.ts"
import { listImageSyncs } from "./ImageSyncs.ts"

/** Flattens JSON into `path = value` pairs, for line-by-line differences. */
const flatten = (value: unknown, path = ""): Map<string, string> => {
  const out = new Map<string, string>()
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value)
    for (const [key, inner] of entries) {
      for (const [p, v] of flatten(inner, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`))
        out.set(p, v)
    }
    if (entries.length === 0) out.set(path, JSON.stringify(value))
  } else {
    out.set(path, JSON.stringify(value))
  }
  return out
}

export const differences = (what: string, fromStream: unknown, held: unknown): ReadonlyArray<string> => {
  const expected = flatten(fromStream)
  const actual = flatten(held)
  const lines: Array<string> = []
  for (const path of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const a = expected.get(path)
    const b = actual.get(path)
    if (a !== b)
      lines.push(`${what}${path}: the stream says ${a ?? "(nothing)"}, the cluster has ${b ?? "(nothing)"}`)
  }
  return lines
}

const withoutTransitionTimes = (status: ImageSyncStatus | undefined) =>
  status && {
    ...status,
    conditions: status.conditions?.map(({ lastTransitionTime: _, ...condition }) => condition),
  }

export const verifyReplay = (options: {
  readonly cluster: string
  readonly kubeConfig: KubeConfig
  readonly plan: PlanOptions
}) =>
  Effect.gen(function* () {
    const { connection } = yield* Nats
    const state = fold(yield* replayHistory(options.cluster))
    const planned = plan(state, options.plan)
    const lines: Array<string> = []

    // Assignments, without their sealed credentials.
    const expected = new Map(
      planned.assignments.map((a) => [
        desiredKey(options.cluster, a.node, a.resource),
        canonicalJson(a.assignment),
      ]),
    )
    const raw = yield* readDesired(
      yield* Effect.promise(() => openDesiredBucket(connection)),
      options.cluster,
    )
    const held = new Map(
      [...raw].map(([key, value]) => [
        key,
        canonicalJson((JSON.parse(value) as { assignment: unknown }).assignment),
      ]),
    )
    for (const key of [...new Set([...expected.keys(), ...held.keys()])].sort()) {
      const a = expected.get(key)
      const b = held.get(key)
      if (a === b) continue
      lines.push(
        ...(a && b
          ? differences(`assignment ${key}`, JSON.parse(a), JSON.parse(b))
          : [
              `assignment ${key}: the stream says ${a ? "assigned" : "nothing"}, coral_desired has ${b ? "an assignment" : "nothing"}`,
            ]),
      )
    }

    // Statuses of ImageSyncs.
    const items = yield* listImageSyncs(options.kubeConfig)
    const plans = new Map(planned.resources.map((r) => [resourceKeyString(r.resource), r]))
    const now = new Date().toISOString()
    for (const object of items) {
      const key = resourceKeyString({ kind: "ImageSync", ...object.metadata })
      const resource = state.resources[key]
      if (resource?.kind !== "ImageSync") {
        lines.push(`status ${key}: the API server has this ImageSync, the stream does not`)
        continue
      }
      const computed = imageSyncStatus(state, resource, plans.get(key), object.status, now)
      lines.push(
        ...differences(
          `status ${key}`,
          withoutTransitionTimes(computed),
          withoutTransitionTimes(object.status),
        ),
      )
    }
    return {
      lines,
      resources: items.length,
      assignments: expected.size,
      lastSequence: state.lastSequence,
    }
  })
