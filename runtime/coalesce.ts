/**
 * Runs `pass` after each burst of triggers, at most once per `interval`: triggers that arrive while
 * a pass runs or during the pause after it collapse into one more pass. Unlike a throttle that drops
 * events, the last change is never lost; unlike a debounce, a steady stream of changes still gets
 * passes.
 */
import { type Duration, Effect, Queue, Stream } from "effect"

export const coalesce = <E, R, E2, R2>(
  triggers: Stream.Stream<unknown, E, R>,
  interval: Duration.Input,
  pass: Effect.Effect<unknown, E2, R2>,
): Effect.Effect<never, E | E2, R | R2> =>
  Effect.gen(function* () {
    const pending = yield* Queue.sliding<void>(1)
    yield* Effect.forkChild(triggers.pipe(Stream.runForEach(() => Queue.offer(pending, undefined))))
    for (;;) {
      yield* Queue.take(pending)
      yield* pass
      yield* Effect.sleep(interval)
    }
  })
