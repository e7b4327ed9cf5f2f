/**
 * Leader election with a `coordination.k8s.io/v1` Lease, as client-go does it: a candidate takes the
 * Lease when it is free or expired (compare-and-swap on resourceVersion, so two candidates cannot
 * both win), then renews it; the leader's duties run only while it holds the Lease and are
 * interrupted the moment a renewal fails. A standby keeps trying, so it takes over within one
 * lease duration of the leader's death.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node"
import { Duration, Effect } from "effect"
import { type KubeRequestFailed, kubeRequest } from "../k8s/KubeRequest.ts"

export interface LeaseOptions {
  readonly kubeConfig: KubeConfig
  readonly namespace: string
  readonly name: string
  readonly identity: string
  readonly leaseDuration: Duration.Duration
  readonly renewEvery: Duration.Duration
}

const expired = (lease: V1Lease, now: number) => {
  const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0
  return now - renewed > (lease.spec?.leaseDurationSeconds ?? 0) * 1000
}

// Lease times are MicroTime on the wire (six fractional digits); a plain Date is refused.
const leaseBody = (options: LeaseOptions, previous: V1Lease | undefined, now: V1MicroTime): V1Lease => {
  const keep = previous?.spec?.holderIdentity === options.identity
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: options.name,
      namespace: options.namespace,
      ...(previous?.metadata?.resourceVersion ? { resourceVersion: previous.metadata.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.ceil(Duration.toSeconds(options.leaseDuration)),
      acquireTime: keep && previous?.spec?.acquireTime ? new V1MicroTime(previous.spec.acquireTime) : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (keep ? 0 : 1),
    },
  }
}

/** One attempt: true when this candidate holds the Lease afterwards. */
const tryAcquireOrRenew = (api: CoordinationV1Api, options: LeaseOptions) =>
  Effect.gen(function* () {
    const { namespace, name } = options
    const current = yield* kubeRequest(`read Lease ${namespace}/${name}`, () =>
      api.readNamespacedLease({ namespace, name }),
    ).pipe(
      Effect.catchIf(
        (error) => error.status === 404,
        () => Effect.succeed(undefined),
      ),
    )
    const now = new V1MicroTime()
    if (!current) {
      yield* kubeRequest(`create Lease ${namespace}/${name}`, () =>
        api.createNamespacedLease({ namespace, body: leaseBody(options, undefined, now) }),
      )
      return true
    }
    if (current.spec?.holderIdentity !== options.identity && !expired(current, now.getTime())) return false
    yield* kubeRequest(`update Lease ${namespace}/${name}`, () =>
      api.replaceNamespacedLease({ namespace, name, body: leaseBody(options, current, now) }),
    )
    return true
  }).pipe(
    // Losing a create or update race to another candidate is not an error: it just is not us.
    Effect.catchIf(
      (error: KubeRequestFailed) => error.status === 409 || error.status === 422,
      () => Effect.succeed(false),
    ),
  )

/** Runs `duties` whenever this process leads; never returns. */
export const whileLeader = <E, R>(options: LeaseOptions, duties: Effect.Effect<never, E, R>) =>
  Effect.gen(function* () {
    const api = options.kubeConfig.makeApiClient(CoordinationV1Api)
    for (;;) {
      const acquired = yield* tryAcquireOrRenew(api, options).pipe(
        Effect.catch((error) =>
          Effect.logWarning("lease unavailable").pipe(
            Effect.annotateLogs({ error: error.message }),
            Effect.as(false),
          ),
        ),
      )
      if (!acquired) {
        yield* Effect.sleep(options.renewEvery)
        continue
      }
      yield* Effect.logInfo("leading").pipe(Effect.annotateLogs({ identity: options.identity }))
      const renewals = Effect.gen(function* () {
        for (;;) {
          yield* Effect.sleep(options.renewEvery)
          // A renewal that cannot finish well within the lease counts as lost: by the time it
          // would, a standby may already lead.
          const held = yield* tryAcquireOrRenew(api, options).pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(Duration.toMillis(options.leaseDuration) / 3),
              orElse: () => Effect.succeed(false),
            }),
          )
          if (!held) return yield* Effect.fail(new Error("lost the lease to another candidate"))
        }
      })
      const exit = yield* Effect.exit(Effect.raceFirst(duties, renewals))
      yield* Effect.logWarning("stopped leading").pipe(Effect.annotateLogs({ cause: String(exit) }))
    }
  })
