/**
 * The control-plane process. Configuration comes from `CORAL_*` environment variables:
 * CORAL_CLUSTER (name of this cluster in subjects, default `local`), CORAL_NATS_URL (required),
 * CORAL_KUBECONFIG (default: in-cluster, then ~/.kube/config), CORAL_LEASE_NAMESPACE (default
 * `default`), CORAL_METRICS_ADDRESS (default `0.0.0.0:9090`), CORAL_STATUS_INTERVAL (default 1s),
 * CORAL_RESYNC_INTERVAL (default 30s), CORAL_MAX_PULLS_PER_REGISTRY (nodes pulling from one registry at
 * once, cluster-wide; default 50), CORAL_NATS_NKEY_FILE (its NKey seed, when NATS requires it).
 */

import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect } from "effect"
import { layerEventLog } from "../eventlog/EventStore.ts"
import { loadKubeConfig } from "../k8s/loadKubeConfig.ts"
import { goDuration } from "../runtime/GoDurationConfig.ts"
import { runControlPlane } from "./ControlPlane.ts"

const settings = Config.all({
  cluster: Config.String("CORAL_CLUSTER").pipe(Config.withDefault("local")),
  natsUrl: Config.String("CORAL_NATS_URL"),
  nkeyFile: Config.String("CORAL_NATS_NKEY_FILE").pipe(Config.withDefault("")),
  kubeconfig: Config.String("CORAL_KUBECONFIG").pipe(Config.withDefault("")),
  leaseNamespace: Config.String("CORAL_LEASE_NAMESPACE").pipe(Config.withDefault("default")),
  metricsAddress: Config.String("CORAL_METRICS_ADDRESS").pipe(Config.withDefault("0.0.0.0:9090")),
  maxPullsPerRegistry: Config.Int("CORAL_MAX_PULLS_PER_REGISTRY").pipe(Config.withDefault(50)),
})

const program = Effect.gen(function* () {
  const config = yield* settings
  const resyncInterval = yield* goDuration("CORAL_RESYNC_INTERVAL", "30s")
  const statusInterval = yield* goDuration("CORAL_STATUS_INTERVAL", "1s")
  const kubeConfig = loadKubeConfig(config.kubeconfig)
  const [host = "0.0.0.0", port = "9090"] = config.metricsAddress.split(":")
  const live = layerEventLog(config.cluster, {
    servers: config.natsUrl.split(","),
    name: "coral-controlplane",
    ...(config.nkeyFile ? { nkeySeedFile: config.nkeyFile } : {}),
  })
  return yield* runControlPlane({
    cluster: config.cluster,
    kubeConfig,
    leaseNamespace: config.leaseNamespace,
    metricsHost: host,
    metricsPort: Number(port),
    statusInterval,
    resyncInterval,
    plan: { maxPullsPerRegistry: config.maxPullsPerRegistry },
  }).pipe(Effect.provide(live))
})

NodeRuntime.runMain(Effect.scoped(program))
