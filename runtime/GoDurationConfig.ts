/** A `CORAL_*` duration written the Kubernetes way (`30s`, `1m30s`), with a default; a bad value fails start-up. */
import { Config, Data, Duration, Effect } from "effect"
import { parseGoDuration } from "../domain/GoDuration.ts"

export class InvalidSetting extends Data.TaggedError("InvalidSetting")<{
  readonly name: string
  readonly reason: string
}> {
  override get message() {
    return `${this.name}: ${this.reason}`
  }
}

export const goDuration = (
  name: string,
  fallback: string,
): Effect.Effect<Duration.Duration, InvalidSetting | Config.ConfigError> =>
  Effect.gen(function* () {
    const text = yield* Config.String(name).pipe(Config.withDefault(fallback))
    const millis = parseGoDuration(text)
    if (millis === undefined) {
      return yield* new InvalidSetting({
        name,
        reason: `"${text}" is not a duration such as 30s, 5m or 1h30m`,
      })
    }
    return Duration.millis(millis)
  })
