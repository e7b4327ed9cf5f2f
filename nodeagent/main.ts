/**
 * The node-agent process (one per node). Configuration from `CORAL_*` environment variables:
 * CORAL_NODE_NAME (required), CORAL_CLUSTER (default `local`), CORAL_NATS_URL (required),
 * CORAL_CRI_SOCKET (default /run/containerd/containerd.sock), CORAL_METRICS_ADDRESS (default
 * `0.0.0.0:9091`), CORAL_PULL_CONCURRENCY (default 2), CORAL_RECHECK_INTERVAL (default 30s), CORAL_NATS_NKEY_FILE (the agent's NKey seed, when NATS requires it).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect } from "effect"
import { agentInboxPrefix } from "../domain/Subjects.ts"
import { layerEventLog } from "../eventlog/EventStore.ts"
import { goDuration } from "../runtime/GoDurationConfig.ts"
import { runNodeAgent } from "./NodeAgent.ts"

const settings = Config.all({
  node: Config.String("CORAL_NODE_NAME"),
  cluster: Config.String("CORAL_CLUSTER").pipe(Config.withDefault("local")),
  natsUrl: Config.String("CORAL_NATS_URL"),
  nkeyFile: Config.String("CORAL_NATS_NKEY_FILE").pipe(Config.withDefault("")),
  criSocket: Config.String("CORAL_CRI_SOCKET").pipe(Config.withDefault("/run/containerd/containerd.sock")),
  metricsAddress: Config.String("CORAL_METRICS_ADDRESS").pipe(Config.withDefault("0.0.0.0:9091")),
  pullConcurrency: Config.Int("CORAL_PULL_CONCURRENCY").pipe(Config.withDefault(2)),
})

const program = Effect.gen(function* () {
  const config = yield* settings
  const recheckInterval = yield* goDuration("CORAL_RECHECK_INTERVAL", "30s")
  const [host = "0.0.0.0", port = "9091"] = config.metricsAddress.split(":")
  const live = layerEventLog(config.cluster, {
    servers: config.natsUrl.split(","),
    name: `coral-nodeagent-${config.node}`,
    inboxPrefix: agentInboxPrefix(config.node),
    ...(config.nkeyFile ? { nkeySeedFile: config.nkeyFile } : {}),
  })
  return yield* runNodeAgent({
    cluster: config.cluster,
    node: config.node,
    criSocket: config.criSocket,
    metricsHost: host,
    metricsPort: Number(port),
    pullConcurrency: config.pullConcurrency,
    recheckInterval,
  }).pipe(Effect.provide(live))
})

NodeRuntime.runMain(Effect.scoped(program))
