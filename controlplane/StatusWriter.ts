/**
 * Projected state → the `status` subresource of each ImageSync. A pass computes every status with
 * the pure `imageSyncStatus` and patches only those that differ from what was last written, so a
 * pass per second bounds the writes to one per resource per second however many node reports
 * arrived in between. "Last written" is kept in line with the objects the informer sees, so a
 * restart does not rewrite unchanged statuses (conditions keep their transition times) and a
 * status edited by someone else is put right. Each write is also recorded in the stream.
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { Effect } from "effect"
import { canonicalJson } from "../domain/canonicalJson.ts"
import type { ImageSyncStatus } from "../domain/ImageSync.ts"
import { imageSyncStatus } from "../domain/ImageSyncStatus.ts"
import type { Plan } from "../domain/Planner.ts"
import type { State } from "../domain/Projection.ts"
import { resourceKeyString, statusSubject } from "../domain/Subjects.ts"
import { EventStore, makeEvent } from "../eventlog/EventStore.ts"
import { group, version } from "../infra/crd/definitions.ts"
import { kubeRequest } from "../k8s/KubeRequest.ts"
import type { CredentialProblem } from "./AssignmentPublisher.ts"

export interface StatusTarget {
  readonly namespace: string
  readonly name: string
  readonly resourceVersion?: string
  readonly status?: ImageSyncStatus
}

/** What Coral last wrote to one object's status, and the resourceVersion that write produced. */
export interface WrittenEntry {
  readonly json: string
  readonly status: ImageSyncStatus
  readonly resourceVersion?: string
}

const withCredentialProblems = (
  status: ImageSyncStatus,
  problems: ReadonlyArray<CredentialProblem>,
): ImageSyncStatus => {
  if (problems.length === 0) return status
  const note = problems.map((p) => `pull secret ${p.secret}: ${p.reason}`).join("; ")
  return {
    ...status,
    conditions: (status.conditions ?? []).map((c) =>
      c.type === "Degraded" && c.status === "False"
        ? { ...c, status: "True", reason: "PullSecretUnusable", message: note }
        : c,
    ),
  }
}

export const invalidSpecStatus = (generation: number, message: string, now: string): ImageSyncStatus => ({
  observedGeneration: generation,
  conditions: [
    {
      type: "Ready",
      status: "False",
      reason: "InvalidSpec",
      message,
      lastTransitionTime: now,
      observedGeneration: generation,
    },
    {
      type: "Degraded",
      status: "True",
      reason: "InvalidSpec",
      message,
      lastTransitionTime: now,
      observedGeneration: generation,
    },
  ],
})

export interface WrittenStatus {
  readonly namespace: string
  readonly name: string
  readonly before: ImageSyncStatus | undefined
  readonly after: ImageSyncStatus
}

export interface StatusPass {
  readonly state: State
  readonly plan: Plan
  readonly problems: ReadonlyArray<CredentialProblem>
  /** Objects the API server holds that Coral could not decode, with why. */
  readonly invalid: ReadonlyArray<{
    readonly namespace: string
    readonly name: string
    readonly generation: number
    readonly message: string
  }>
  readonly now: string
}

/** One pass; `written` (key → canonical JSON of the status last written) is updated in place. Returns what it wrote. */
export const writeStatuses = (
  api: CustomObjectsApi,
  written: Map<string, WrittenEntry>,
  pass: StatusPass,
): Effect.Effect<ReadonlyArray<WrittenStatus>> =>
  Effect.gen(function* () {
    const writes: Array<WrittenStatus> = []
    const plans = new Map(pass.plan.resources.map((r) => [resourceKeyString(r.resource), r]))
    const targets: Array<{ key: string; namespace: string; name: string; status: ImageSyncStatus }> = []
    // An object whose current spec Coral cannot use is reported as such, not with the status of its previous spec.
    const invalidKeys = new Set(pass.invalid.map((bad) => resourceKeyString({ kind: "ImageSync", ...bad })))
    for (const resource of Object.values(pass.state.resources)) {
      if (resource.kind !== "ImageSync") continue
      const key = resourceKeyString(resource)
      if (invalidKeys.has(key)) continue
      const computed = imageSyncStatus(
        pass.state,
        resource,
        plans.get(key),
        written.get(key)?.status,
        pass.now,
      )
      const problems = pass.problems.filter(
        (p) => p.namespace === resource.namespace && p.name === resource.name,
      )
      targets.push({
        key,
        namespace: resource.namespace,
        name: resource.name,
        status: withCredentialProblems(computed, problems),
      })
    }
    for (const bad of pass.invalid) {
      const key = resourceKeyString({ kind: "ImageSync", ...bad })
      targets.push({
        key,
        namespace: bad.namespace,
        name: bad.name,
        status: invalidSpecStatus(bad.generation, bad.message, pass.now),
      })
    }
    for (const target of targets) {
      const json = canonicalJson(target.status)
      if (written.get(target.key)?.json === json) continue
      const outcome = yield* kubeRequest(`patch status of ImageSync ${target.namespace}/${target.name}`, () =>
        api.patchNamespacedCustomObjectStatus(
          {
            group,
            version,
            namespace: target.namespace,
            plural: "imagesyncs",
            name: target.name,
            body: { status: target.status },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      ).pipe(Effect.exit)
      if (outcome._tag === "Failure") {
        yield* Effect.logWarning("status write failed; the next pass retries").pipe(
          Effect.annotateLogs({ resource: target.key, cause: String(outcome.cause) }),
        )
        continue
      }
      writes.push({
        namespace: target.namespace,
        name: target.name,
        before: written.get(target.key)?.status,
        after: target.status,
      })
      const resourceVersion = (outcome.value as { metadata?: { resourceVersion?: string } }).metadata
        ?.resourceVersion
      written.set(target.key, {
        json,
        status: target.status,
        ...(resourceVersion ? { resourceVersion } : {}),
      })
    }
    return writes
  })

const newer = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && /^\d+$/.test(a) && /^\d+$/.test(b) ? BigInt(a) > BigInt(b) : a !== b

/**
 * Brings "last written" in line with the objects as the informer sees them: an object changed by
 * someone else since Coral's last write (a hand-edited status, a new spec) is compared from its
 * actual status again, so the next pass corrects it; an object the informer has not yet seen in
 * Coral's own newest version is left alone (resourceVersions compare numerically when they are
 * numbers, as kube-apiserver's are).
 */
export const reconcileWritten = (
  written: Map<string, WrittenEntry>,
  objects: ReadonlyArray<StatusTarget>,
) => {
  for (const object of objects) {
    const key = resourceKeyString({ kind: "ImageSync", namespace: object.namespace, name: object.name })
    const entry = written.get(key)
    if (entry && !newer(object.resourceVersion, entry.resourceVersion)) continue
    if (!object.status) {
      written.delete(key)
      continue
    }
    written.set(key, {
      json: canonicalJson(object.status),
      status: object.status,
      ...(object.resourceVersion === undefined ? {} : { resourceVersion: object.resourceVersion }),
    })
  }
}

/** Appends `StatusWritten` for one write, so the audit log shows what each status said; a failure is logged, not fatal. */
export const recordStatusWritten = (cluster: string, write: WrittenStatus) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const key = { kind: "ImageSync", namespace: write.namespace, name: write.name } as const
    const event = yield* makeEvent(
      "StatusWritten",
      {
        ...key,
        generation: write.after.observedGeneration ?? 0,
        desiredNodes: write.after.desiredNodes ?? 0,
        readyNodes: write.after.readyNodes ?? 0,
        failedNodes: write.after.failedNodes ?? 0,
        reflectsSequence: write.after.lastEventSequence ?? 0,
      },
      { cluster },
    )
    yield* store.append(statusSubject(cluster, key), event, { msgId: event.id })
  }).pipe(
    Effect.catch((error) =>
      Effect.logWarning("status write not recorded in the stream").pipe(
        Effect.annotateLogs({ resource: `${write.namespace}/${write.name}`, error: error.message }),
      ),
    ),
  )
