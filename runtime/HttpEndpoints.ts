/**
 * The read-only HTTP endpoints every Coral process serves: `/metrics` (Prometheus text format,
 * from the process' own prom-client registry) and `/healthz`. Only GET and HEAD are answered;
 * anything else is refused with 405, and nothing here changes the process.
 */
import { createServer } from "node:http"
import { Effect, type Scope } from "effect"
import type { Registry } from "prom-client"

export interface HttpEndpoints {
  readonly port: number
}

export const serveEndpoints = (options: {
  readonly host: string
  readonly port: number
  readonly registry: Registry
  /** Why the process is not healthy, or undefined when it is. */
  readonly unhealthy: () => string | undefined
}): Effect.Effect<HttpEndpoints, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: ReturnType<typeof createServer>; port: number }, Error>((resume) => {
      const server = createServer((request, response) => {
        if (request.method !== "GET" && request.method !== "HEAD") {
          response.writeHead(405, { allow: "GET, HEAD" }).end()
          return
        }
        const path = new URL(request.url ?? "/", "http://local").pathname
        if (path === "/healthz") {
          const problem = options.unhealthy()
          response.writeHead(problem ? 503 : 200, { "content-type": "text/plain" }).end(problem ?? "ok")
          return
        }
        if (path === "/metrics") {
          options.registry.metrics().then(
            (text) => response.writeHead(200, { "content-type": options.registry.contentType }).end(text),
            () => response.writeHead(500).end(),
          )
          return
        }
        response.writeHead(404).end()
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(options.port, options.host, () => {
        const address = server.address()
        resume(
          Effect.succeed({
            server,
            port: typeof address === "object" && address ? address.port : options.port,
          }),
        )
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      }),
  ).pipe(Effect.map(({ port }) => ({ port })))
