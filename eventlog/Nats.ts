/**
 * The NATS connection every Coral process shares: connected once per process, checked against the
 * minimum server version Coral needs (2.11: per-subject optimistic concurrency with wildcards,
 * per-message TTL, priority groups), drained when the scope closes. Failures name the servers and
 * say what to do.
 */

import { readFileSync } from "node:fs"
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node"
import { Context, Data, Effect, Layer, type Scope } from "effect"

export const minimumServerVersion = "2.11.0"

export class NatsUnavailable extends Data.TaggedError("NatsUnavailable")<{
  readonly servers: string
  readonly details: string
}> {
  override get message() {
    return `cannot connect to NATS at ${this.servers}: ${this.details}`
  }
}

export class NatsServerTooOld extends Data.TaggedError("NatsServerTooOld")<{
  readonly version: string
  readonly minimum: string
}> {
  override get message() {
    return `the NATS server runs ${this.version}, Coral needs ${this.minimum} or newer (with JetStream enabled): upgrade the server`
  }
}

export interface NatsShape {
  readonly connection: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

export class Nats extends Context.Service<Nats, NatsShape>()("coral/eventlog/Nats") {}

const versionParts = (version: string) => version.replace(/^v/, "").split(/[.-]/).slice(0, 3).map(Number)

/** Whether `version` is at least `minimum` (major.minor.patch, pre-release suffixes ignored). */
export const atLeast = (version: string, minimum: string): boolean => {
  const have = versionParts(version)
  const need = versionParts(minimum)
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0
    const b = need[i] ?? 0
    if (Number.isNaN(a)) return false
    if (a !== b) return a > b
  }
  return true
}

export interface NatsOptions {
  readonly servers: string | ReadonlyArray<string>
  /** Connection name, shown in the server's monitoring. */
  readonly name: string
  /** File holding this process' NKey seed, when the server requires NKey authentication. */
  readonly nkeySeedFile?: string
  /** Prefix of this connection's reply subjects (node agents may only receive on their own). */
  readonly inboxPrefix?: string
}

export const connectNats = (
  options: NatsOptions,
): Effect.Effect<NatsShape, NatsUnavailable | NatsServerTooOld, Scope.Scope> =>
  Effect.gen(function* () {
    const servers = typeof options.servers === "string" ? options.servers : options.servers.join(",")
    const connection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          connect({
            servers: typeof options.servers === "string" ? options.servers : [...options.servers],
            name: options.name,
            maxReconnectAttempts: -1,
            ...(options.nkeySeedFile
              ? {
                  authenticator: nkeyAuthenticator(
                    new TextEncoder().encode(readFileSync(options.nkeySeedFile, "utf8").trim()),
                  ),
                }
              : {}),
            ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
          }),
        catch: (cause) =>
          new NatsUnavailable({ servers, details: cause instanceof Error ? cause.message : String(cause) }),
      }),
      (nc) => Effect.promise(() => nc.drain().catch(() => undefined)),
    )
    const version = connection.info?.version ?? "unknown"
    if (!atLeast(version, minimumServerVersion)) {
      return yield* new NatsServerTooOld({ version, minimum: minimumServerVersion })
    }
    const jsm = yield* Effect.tryPromise({
      try: () => jetstreamManager(connection),
      catch: (cause) =>
        new NatsUnavailable({
          servers,
          details: `JetStream is not available (${cause instanceof Error ? cause.message : String(cause)}); start nats-server with JetStream enabled`,
        }),
    })
    return { connection, js: jetstream(connection), jsm }
  })

export const layer = (options: NatsOptions) => Layer.effect(Nats, connectNats(options))
