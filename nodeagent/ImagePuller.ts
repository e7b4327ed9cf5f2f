/**
 * One worker per (assignment, image): keeps the image in the node's runtime and says so.
 *
 * It checks the runtime (`ImageStatus`, compared through the canonical reference, by digest when
 * the reference pins one); if the image is missing it reports `Pulling`, pulls through the CRI
 * with the assignment's timeout, tries each matching credential in order, confirms with
 * `ImageStatus`, and reports `Ready` with digest, size and duration — or `Failed` with a reason and
 * backs off exponentially with jitter between the assignment's base and max. While the image is
 * present it re-checks on an interval; if the kubelet's image GC removed it, it reports `Removed`
 * and pulls again. Pulls share the agent's concurrency limit. The worker is interrupted — a pull in
 * flight is cancelled — when its assignment goes away or changes.
 */
import { Cause, Clock, Duration, Effect, Option, Random, Redacted, Result, type Semaphore } from "effect"
import type { PullPhase } from "../domain/Events.ts"
import { parseGoDuration } from "../domain/GoDuration.ts"
import {
  type ImageReference,
  parseImageReference,
  repositoryOf,
  runtimeHolds,
} from "../domain/ImageReference.ts"
import type { ImageAssignment } from "../domain/Planner.ts"
import type { CriCallFailed, CriImage, CriImageServiceShape, PullAuth } from "./CriImageService.ts"
import type { AgentMetrics } from "./Metrics.ts"
import { classifyPullFailure } from "./PullFailure.ts"

export interface OpenedCredential {
  readonly registry: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface PullReport {
  readonly phase: PullPhase
  readonly digest?: string
  readonly sizeBytes?: number
  readonly durationMs?: number
  readonly reason?: string
  readonly message?: string
}

export interface PullTarget {
  readonly assignment: ImageAssignment
  readonly image: string
  readonly credentials: ReadonlyArray<OpenedCredential>
}

export interface PullerContext {
  readonly cri: CriImageServiceShape
  readonly pulls: Semaphore.Semaphore
  readonly recheckInterval: Duration.Duration
  readonly metrics: AgentMetrics
  /** Publishes a report; a failure leaves the worker to publish it again on its next pass. */
  readonly report: (target: PullTarget, report: PullReport) => Effect.Effect<void, Error>
}

const digestOf = (reference: ImageReference, image: CriImage) =>
  reference.digest ??
  image.repoDigests
    .map((value) => Result.getOrUndefined(parseImageReference(value)))
    .find((parsed) => parsed && repositoryOf(parsed) === repositoryOf(reference))?.digest

const backoffDelay = (assignment: ImageAssignment, attempt: number, jitter: number) => {
  const base = parseGoDuration(assignment.backoff.base) ?? 5000
  const max = parseGoDuration(assignment.backoff.max) ?? 300_000
  const delay = Math.min(base * 2 ** attempt, max)
  return Duration.millis(Math.round(delay * (0.5 + jitter / 2)))
}

const pullOnce = (context: PullerContext, target: PullTarget, timeout: Duration.Duration) => {
  const candidates: ReadonlyArray<PullAuth | undefined> =
    target.credentials.length === 0
      ? [undefined]
      : // No serverAddress: containerd parses it as a URL and rejects a bare host:port; the
        // credential was already matched to this image's registry.
        target.credentials.map((c) => ({ username: c.username, password: c.password }))
  const attempt = (index: number): Effect.Effect<string, CriCallFailed> => {
    const auth = candidates[index]
    return context.cri.pullImage(target.image, { timeout, ...(auth ? { auth } : {}) }).pipe(
      Effect.catchIf(
        (error) => index + 1 < candidates.length && classifyPullFailure(error) === "Unauthorized",
        () => attempt(index + 1),
      ),
    )
  }
  return context.pulls.withPermits(1)(attempt(0))
}

export const keepImage = (context: PullerContext, target: PullTarget): Effect.Effect<never> =>
  Effect.gen(function* () {
    const reference = Result.getOrThrow(parseImageReference(target.image))
    const timeout = Duration.millis(parseGoDuration(target.assignment.pullTimeout) ?? 600_000)
    const refreshEvery = parseGoDuration(target.assignment.refreshInterval) ?? 900_000
    let last = ""
    const report = (r: PullReport) => {
      const signature = `${r.phase}|${r.digest ?? ""}|${r.reason ?? ""}|${r.message ?? ""}`
      if (signature === last) return Effect.void
      return context.report(target, r).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            last = signature
          }),
        ),
        Effect.catch((error) =>
          Effect.logWarning("status report not published; it is sent again on the next pass").pipe(
            Effect.annotateLogs({ image: target.image, phase: r.phase, error: error.message }),
          ),
        ),
      )
    }
    const present = context.cri
      .imageStatus(target.image)
      .pipe(Effect.map((found) => Option.filter(found, (image) => runtimeHolds(reference, image))))
    let attempt = 0
    let held = false
    let lastPull = 0

    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const found = yield* present.pipe(Effect.orElseSucceed(() => Option.none<CriImage>()))
      const refreshDue = target.assignment.pullPolicy === "Always" && now - lastPull >= refreshEvery
      if (Option.isSome(found) && !refreshDue) {
        held = true
        attempt = 0
        const digest = digestOf(reference, found.value)
        yield* report({ phase: "Ready", ...(digest ? { digest } : {}), sizeBytes: found.value.size })
        yield* Effect.sleep(context.recheckInterval)
        continue
      }
      if (Option.isNone(found) && held) {
        held = false
        yield* report({
          phase: "Removed",
          reason: "RemovedFromRuntime",
          message: "the image is no longer in the container runtime (image GC?); pulling it again",
        })
      }
      // Retries after a failure stay reported as Failed until one succeeds: a Pulling/Failed pair on
      // every back-off would only add noise to the stream.
      if (Option.isNone(found) && !last.startsWith("Failed|")) yield* report({ phase: "Pulling" })
      const started = yield* Clock.currentTimeMillis
      const pulled = yield* Effect.exit(pullOnce(context, target, timeout))
      const durationMs = (yield* Clock.currentTimeMillis) - started
      lastPull = started
      if (pulled._tag === "Success") {
        const confirmed = yield* present.pipe(Effect.orElseSucceed(() => Option.none<CriImage>()))
        if (Option.isSome(confirmed)) {
          context.metrics.pulls.inc({ result: "success" })
          context.metrics.pullSeconds.observe(durationMs / 1000)
          context.metrics.pulledBytes.inc(confirmed.value.size)
          held = true
          attempt = 0
          const digest = digestOf(reference, confirmed.value)
          yield* report({
            phase: "Ready",
            ...(digest ? { digest } : {}),
            sizeBytes: confirmed.value.size,
            durationMs,
          })
          yield* Effect.sleep(context.recheckInterval)
          continue
        }
      }
      const failure =
        pulled._tag === "Failure" ? Option.getOrUndefined(Cause.findErrorOption(pulled.cause)) : undefined
      const reason = failure ? classifyPullFailure(failure) : "NotInRuntimeAfterPull"
      const message = failure ? failure.details : "the runtime reported success but does not list the image"
      context.metrics.pulls.inc({ result: reason })
      yield* report({ phase: "Failed", reason, message, durationMs })
      yield* Effect.sleep(backoffDelay(target.assignment, attempt++, yield* Random.next))
    }
  })

/**
 * Opens the sealed credentials of one image: none when nothing was sealed, `undefined` when the
 * seal does not open with this agent's key (sealed before it restarted with a new key).
 */
export const openCredentials = (
  open: (sealed: Uint8Array, sender: string) => Uint8Array | null,
  sealed: string | undefined,
  sealedBy: string | undefined,
): ReadonlyArray<OpenedCredential> | undefined => {
  if (!sealed || !sealedBy) return []
  const plain = open(Buffer.from(sealed, "base64"), sealedBy)
  if (!plain) return undefined
  const parsed = JSON.parse(new TextDecoder().decode(plain)) as Array<{
    registry: string
    username: string
    password: string
  }>
  return parsed.map((c) => ({
    registry: c.registry,
    username: c.username,
    password: Redacted.make(c.password),
  }))
}
