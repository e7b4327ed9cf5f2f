/**
 * Records `StatusNote`s as Kubernetes Events on the ImageSync, aggregated the way client-go's event
 * correlator does: one Event per (resource, note key), whose `count` and `lastTimestamp` go up when
 * the note repeats. A failure to record an Event is logged and never stops the status loop.
 */
import { createHash } from "node:crypto"
import { type CoreV1Api, type CoreV1Event, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { Effect } from "effect"
import type { StatusNote } from "../domain/StatusNotes.ts"
import { group, version } from "../infra/crd/definitions.ts"
import { kubeRequest } from "../k8s/KubeRequest.ts"

export interface EventTarget {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

const eventName = (target: EventTarget, note: StatusNote) =>
  `${target.name}.coral-${createHash("sha256").update(`${target.uid}|${note.key}`).digest("hex").slice(0, 12)}`

export const recordNotes = (
  core: CoreV1Api,
  counts: Map<string, number>,
  identity: string,
  target: EventTarget,
  notes: ReadonlyArray<StatusNote>,
): Effect.Effect<void> =>
  Effect.forEach(
    notes,
    (note) => {
      const name = eventName(target, note)
      const now = new Date()
      const count = (counts.get(name) ?? 0) + 1
      const body: CoreV1Event = {
        metadata: { name, namespace: target.namespace },
        involvedObject: {
          apiVersion: `${group}/${version}`,
          kind: "ImageSync",
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
        type: note.type,
        reason: note.reason,
        message: note.message,
        count,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: "coral-controlplane" },
        reportingComponent: "coral.stvz.io/controlplane",
        reportingInstance: identity,
      }
      const create = kubeRequest(`create Event ${name}`, () =>
        core.createNamespacedEvent({ namespace: target.namespace, body }),
      )
      const bump = kubeRequest(`update Event ${name}`, () =>
        core.patchNamespacedEvent(
          { namespace: target.namespace, name, body: { count, lastTimestamp: now, message: note.message } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      )
      return (
        count === 1
          ? create.pipe(
              Effect.catchIf(
                (e) => e.status === 409,
                () => bump,
              ),
            )
          : bump
      ).pipe(
        Effect.tap(() => Effect.sync(() => counts.set(name, count))),
        Effect.catch((error) =>
          Effect.logWarning("event not recorded").pipe(
            Effect.annotateLogs({ event: name, error: error.message }),
          ),
        ),
      )
    },
    { discard: true },
  )
