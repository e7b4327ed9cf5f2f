/** `--since` values: an ISO time, or a Go-style duration back from now (`15m`, `2h`). */
import { Clock, Effect } from "effect"
import { parseGoDuration } from "../domain/GoDuration.ts"

export const parseSince = (text: string): Effect.Effect<Date, Error> =>
  Effect.gen(function* () {
    const back = parseGoDuration(text)
    if (back !== undefined) return new Date((yield* Clock.currentTimeMillis) - back)
    const time = Date.parse(text)
    if (Number.isNaN(time))
      return yield* Effect.fail(new Error(`--since "${text}" is neither a time nor a duration such as 15m`))
    return new Date(time)
  })
