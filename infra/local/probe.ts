/** Readiness probes for the harness' servers: true when the server answers as expected, false otherwise. */
import { existsSync, readFileSync } from "node:fs"
import { request } from "node:https"
import { Effect } from "effect"

/** A plain-HTTP GET whose status is one of `accept`. */
export const httpAnswers = (url: string, accept: ReadonlyArray<number> = [200]): Effect.Effect<boolean> =>
  Effect.promise((signal) =>
    fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) }).then(
      (response) => accept.includes(response.status),
      () => false,
    ),
  )

/** An HTTPS GET with a bearer token, trusting the CA in `caFile` once the server has written it. */
export const httpsAnswers = (url: string, caFile: string, token: string): Effect.Effect<boolean> =>
  Effect.callback((resume) => {
    if (!existsSync(caFile)) return resume(Effect.succeed(false))
    const req = request(
      url,
      { ca: readFileSync(caFile), headers: { authorization: `Bearer ${token}` }, timeout: 2000 },
      (response) => {
        response.resume()
        resume(Effect.succeed(response.statusCode === 200))
      },
    )
    req.on("error", () => resume(Effect.succeed(false)))
    req.on("timeout", () => req.destroy())
    req.end()
  })
