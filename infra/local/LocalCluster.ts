/**
 * The local cluster-in-a-box: a real Kubernetes API server, NATS with JetStream, two registries
 * (anonymous and with basic auth) and any number of simulated nodes, each a `Node` object paired
 * with its own containerd. Everything runs as local processes on loopback under one temporary
 * directory, and stops when the scope closes. The demo, `coral up` and the tests all start it here.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { Effect, type Scope } from "effect"
import type { KubeRequestFailed } from "../../k8s/KubeRequest.ts"
import { installCrds } from "../crd/install.ts"
import { type Binaries, type BinaryMissing, locateBinaries } from "./Binaries.ts"
import { type LocalContainerd, startContainerd } from "./Containerd.ts"
import { type CoralProcess, startControlPlaneProcess, startNodeAgentProcess } from "./CoralProcesses.ts"
import { type KubeApiServer, startKubeApiServer } from "./KubeApiServer.ts"
import { type NatsServer, startNats } from "./Nats.ts"
import { sweepOrphans } from "./Orphans.ts"
import type { ProcessFailed } from "./Process.ts"
import { type LocalRegistry, startRegistry } from "./Registry.ts"
import { createSimulatedNode, type SimulatedNodeSpec } from "./SimulatedNodes.ts"

export interface LocalNode {
  readonly name: string
  readonly containerd: LocalContainerd
}

export interface LocalCluster {
  readonly dir: string
  readonly binaries: Binaries
  readonly kube: KubeApiServer
  readonly nats: NatsServer
  readonly registries: { readonly public: LocalRegistry; readonly private: LocalRegistry }
  readonly nodes: ReadonlyArray<LocalNode>
}

export type LocalClusterError = ProcessFailed | BinaryMissing | KubeRequestFailed

export const kubeConfigOf = (kube: Pick<KubeApiServer, "kubeconfigPath">) => {
  const config = new KubeConfig()
  config.loadFromFile(kube.kubeconfigPath)
  return config
}

/** A temporary directory removed with the scope (kept when CORAL_KEEP_TMP is set, for post-mortems). */
export const scopedTempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) =>
      Effect.sync(() =>
        process.env.CORAL_KEEP_TMP ? undefined : rmSync(dir, { recursive: true, force: true }),
      ),
  )

/** Adds a simulated node: its Node object in the API server and its own containerd. */
export const startLocalNode = (
  cluster: Pick<LocalCluster, "dir" | "binaries" | "kube" | "registries">,
  spec: SimulatedNodeSpec & { readonly index: number },
): Effect.Effect<LocalNode, ProcessFailed | KubeRequestFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const containerd = yield* startContainerd(cluster.binaries, join(cluster.dir, "nodes", spec.name), {
      name: spec.name,
      registryHosts: [cluster.registries.public.host, cluster.registries.private.host],
    })
    yield* createSimulatedNode(kubeConfigOf(cluster.kube).makeApiClient(CoreV1Api), spec, spec.index)
    return { name: spec.name, containerd }
  })

export interface LocalClusterOptions {
  /** Simulated nodes named `node-1` … `node-N`; 0 starts only the shared servers. */
  readonly nodes: number
  /** Labels per node index (0-based), merged over the defaults. */
  readonly nodeLabels?: (index: number) => Record<string, string>
  /** Progress lines ("starting kube-apiserver…"). */
  readonly progress?: (line: string) => void
  /**
   * Coral's cluster name, to run NATS with Coral's per-node users (each node agent may use only its
   * own subjects and keys); without it NATS accepts anyone.
   */
  readonly natsUsersFor?: string
}

export const startLocalCluster = (
  options: LocalClusterOptions,
): Effect.Effect<LocalCluster, LocalClusterError, Scope.Scope> =>
  Effect.gen(function* () {
    const say = options.progress ?? (() => {})
    say("locating test servers (builds them on first use)")
    const binaries = yield* locateBinaries
    yield* Effect.sync(sweepOrphans)
    const dir = yield* scopedTempDir("coral-")
    say("starting etcd and kube-apiserver")
    const kube = yield* startKubeApiServer(binaries, join(dir, "kube"))
    say("starting nats-server with JetStream")
    const nodeNames = Array.from({ length: options.nodes }, (_, index) => `node-${index + 1}`)
    const nats = yield* startNats(
      binaries,
      join(dir, "nats"),
      options.natsUsersFor ? { cluster: options.natsUsersFor, nodes: nodeNames } : undefined,
    )
    say("starting registries")
    const registries = {
      public: yield* startRegistry(binaries, join(dir, "registry-public"), { name: "registry-public" }),
      private: yield* startRegistry(binaries, join(dir, "registry-private"), {
        name: "registry-private",
        auth: { username: "coral", password: randomBytes(12).toString("hex") },
      }),
    }
    const nodes: Array<LocalNode> = []
    for (let index = 0; index < options.nodes; index++) {
      const name = `node-${index + 1}`
      say(`starting ${name} (Node object and containerd)`)
      nodes.push(
        yield* startLocalNode(
          { dir, binaries, kube, registries },
          { name, index, labels: options.nodeLabels?.(index) ?? {} },
        ),
      )
    }
    return { dir, binaries, kube, nats, registries, nodes }
  })

export interface LocalCoral {
  readonly cluster: string
  readonly controlPlane: CoralProcess
  readonly agents: ReadonlyArray<CoralProcess>
}

/** Installs Coral's CRDs and starts its control plane and one node agent per node of `box`. */
export const startCoral = (
  box: LocalCluster,
  options: {
    readonly cluster: string
    readonly controlPlaneEnv?: Record<string, string>
    readonly agentEnv?: Record<string, string>
  },
): Effect.Effect<LocalCoral, ProcessFailed | KubeRequestFailed, Scope.Scope> =>
  Effect.gen(function* () {
    yield* installCrds(kubeConfigOf(box.kube))
    const settings = { cluster: options.cluster, natsUrl: box.nats.url }
    const credentials = box.nats.credentials
    const controlPlane = yield* startControlPlaneProcess(box.dir, {
      ...settings,
      kubeconfigPath: box.kube.kubeconfigPath,
      extraEnv: {
        ...options.controlPlaneEnv,
        ...(credentials ? { CORAL_NATS_NKEY_FILE: credentials.controlPlane } : {}),
      },
    })
    const agents: Array<CoralProcess> = []
    for (const node of box.nodes) {
      agents.push(
        yield* startNodeAgentProcess(box.dir, {
          ...settings,
          node: node.name,
          criSocket: node.containerd.socket,
          extraEnv: {
            ...options.agentEnv,
            ...(credentials?.agents[node.name]
              ? { CORAL_NATS_NKEY_FILE: credentials.agents[node.name] }
              : {}),
          },
        }),
      )
    }
    return { cluster: options.cluster, controlPlane, agents }
  })
