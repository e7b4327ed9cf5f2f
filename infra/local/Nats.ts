/**
 * Real NATS servers with JetStream for tests and the demo: a single server, or a three-server
 * cluster on loopback routes (for failover tests). Each server gets a generated configuration file,
 * its own store directory and monitoring port; readiness is the monitoring endpoint's JetStream
 * health check, which in a cluster also waits for a meta leader.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createUser } from "@nats-io/nkeys"
import { Duration, Effect, type Scope } from "effect"
import { renderAccounts } from "../nats/NatsAuthorization.ts"
import type { Binaries } from "./Binaries.ts"
import { freePort, type ManagedProcess, managedProcess, type ProcessFailed } from "./Process.ts"
import { httpAnswers } from "./probe.ts"

export interface NatsServer {
  readonly url: string
  readonly monitorUrl: string
  readonly process: ManagedProcess
  /** With authorization on: files holding the NKey seeds of the control plane and of each node's agent. */
  readonly credentials?: NatsCredentials
}

export interface NatsCredentials {
  readonly controlPlane: string
  readonly agents: Readonly<Record<string, string>>
}

/** Per-node users, as Coral ships them: every connection then needs its NKey. */
export interface NatsAuthOptions {
  readonly cluster: string
  readonly nodes: ReadonlyArray<string>
}

const writeSeed = (dir: string, name: string) => {
  const user = createUser()
  const file = join(dir, `${name}.nk`)
  writeFileSync(file, new TextDecoder().decode(user.getSeed()), { mode: 0o600 })
  return { file, nkey: user.getPublicKey() }
}

const authorization = (dir: string, auth: NatsAuthOptions) => {
  mkdirSync(join(dir, "credentials"), { recursive: true, mode: 0o700 })
  const controlPlane = writeSeed(join(dir, "credentials"), "controlplane")
  const agents = auth.nodes.map((node) => ({ node, ...writeSeed(join(dir, "credentials"), `agent-${node}`) }))
  return {
    config: renderAccounts({ cluster: auth.cluster, controlPlaneNkeys: [controlPlane.nkey], agents }),
    credentials: {
      controlPlane: controlPlane.file,
      agents: Object.fromEntries(agents.map((a) => [a.node, a.file])),
    },
  }
}

export interface NatsCluster {
  readonly servers: ReadonlyArray<NatsServer>
  /** All client URLs, for a client that fails over between servers. */
  readonly urls: ReadonlyArray<string>
}

interface ServerPlan {
  readonly name: string
  readonly port: number
  readonly monitorPort: number
  readonly clusterPort?: number
}

const config = (plan: ServerPlan, dir: string, routes: ReadonlyArray<number>) =>
  [
    `server_name: ${plan.name}`,
    "host: 127.0.0.1",
    `port: ${plan.port}`,
    `http: 127.0.0.1:${plan.monitorPort}`,
    `jetstream { store_dir: "${join(dir, "jetstream")}", max_memory_store: 256MB, max_file_store: 4GB }`,
    ...(plan.clusterPort === undefined
      ? []
      : [
          "cluster {",
          "  name: coral",
          `  listen: 127.0.0.1:${plan.clusterPort}`,
          `  routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}]`,
          "}",
        ]),
  ].join("\n")

const startServer = (
  binaries: Binaries,
  plan: ServerPlan,
  dir: string,
  routes: ReadonlyArray<number>,
  auth?: NatsAuthOptions,
) =>
  Effect.gen(function* () {
    mkdirSync(dir, { recursive: true })
    const configFile = join(dir, "nats.conf")
    const authz = auth ? authorization(dir, auth) : undefined
    writeFileSync(configFile, [config(plan, dir, routes), authz?.config ?? ""].join("\n"))
    const monitorUrl = `http://127.0.0.1:${plan.monitorPort}`
    const process = yield* managedProcess({
      name: plan.name,
      command: binaries.natsServer,
      args: ["-c", configFile],
      logFile: join(dir, "nats.log"),
      ready: httpAnswers(`${monitorUrl}/healthz`),
      readyTimeout: Duration.seconds(60),
    })
    return {
      url: `nats://127.0.0.1:${plan.port}`,
      monitorUrl,
      process,
      ...(authz ? { credentials: authz.credentials } : {}),
    } satisfies NatsServer
  })

/** Starts one nats-server with JetStream under `dir`. */
export const startNats = (
  binaries: Binaries,
  dir: string,
  auth?: NatsAuthOptions,
): Effect.Effect<NatsServer, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const plan = { name: "coral-nats", port: yield* freePort, monitorPort: yield* freePort }
    return yield* startServer(binaries, plan, dir, [], auth)
  })

/** Starts three clustered nats-servers with JetStream under `dir`. */
export const startNatsCluster = (
  binaries: Binaries,
  dir: string,
): Effect.Effect<NatsCluster, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const plans: Array<ServerPlan> = []
    for (const index of [1, 2, 3]) {
      plans.push({
        name: `coral-nats-${index}`,
        port: yield* freePort,
        monitorPort: yield* freePort,
        clusterPort: yield* freePort,
      })
    }
    const routes = plans.map((plan) => plan.clusterPort ?? 0)
    // Started together: a clustered JetStream server is healthy only once it sees a quorum.
    const servers = yield* Effect.all(
      plans.map((plan) => startServer(binaries, plan, join(dir, plan.name), routes)),
      { concurrency: "unbounded" },
    )
    return { servers, urls: servers.map((server) => server.url) }
  })
