/**
 * The one retry policy for Coral's long-running loops (watches, consumers, reconcilers), after
 * kube-rs' watcher: a failure restarts the loop after an exponential, jittered delay from 0.8 s up
 * to 30 s; a loop that ran healthily for two minutes starts again from the shortest delay.
 * Every restart is logged with the loop's name and the failure.
 */
import { Cause, Clock, Duration, Effect, Random } from "effect"

export interface RetryPolicy {
  readonly initial: Duration.Duration
  readonly max: Duration.Duration
  readonly resetAfter: Duration.Duration
}

export const loopRetry: RetryPolicy = {
  initial: Duration.millis(800),
  max: Duration.seconds(30),
  resetAfter: Duration.minutes(2),
}

/** Delay before restart number `attempt` (0-based): exponential, capped, with ±20 % jitter. */
export const restartDelay = (policy: RetryPolicy, attempt: number, jitter: number): Duration.Duration => {
  const base = Math.min(Duration.toMillis(policy.initial) * 2 ** attempt, Duration.toMillis(policy.max))
  return Duration.millis(Math.round(base * (0.8 + 0.4 * jitter)))
}

/** Runs `loop` forever, restarting it after failures with `policy`. */
export const supervise = <E, R>(
  name: string,
  loop: Effect.Effect<unknown, E, R>,
  policy: RetryPolicy = loopRetry,
): Effect.Effect<never, never, R> =>
  Effect.gen(function* () {
    let attempt = 0
    for (;;) {
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(loop)
      const ranFor = (yield* Clock.currentTimeMillis) - started
      if (ranFor >= Duration.toMillis(policy.resetAfter)) attempt = 0
      const delay = restartDelay(policy, attempt, yield* Random.next)
      attempt++
      yield* Effect.logWarning("loop stopped, restarting").pipe(
        Effect.annotateLogs({
          loop: name,
          delay: Duration.format(delay),
          cause: exit._tag === "Failure" ? Cause.pretty(exit.cause) : "it returned",
        }),
      )
      yield* Effect.sleep(delay)
    }
  })
