/**
 * `npm run bench`: how Coral's control plane and node agent perform, on the real servers of the
 * local cluster-in-a-box. Not a test: it prints a table.
 *
 * 1. Fan-out: one control-plane process, N Node objects and N light simulated agents in this process
 *    (each a KV watch on its own keys that answers every assignment with Pulling then Ready). From
 *    `kubectl apply` of one ImageSync selecting every node: the time until every agent has its
 *    assignment, the time until the status says Ready on all of them, and how many status writes
 *    the API server took for how many status events.
 * 2. Pull path: the real node agent against a real containerd, compared with a direct CRI
 *    `PullImage` (what `crictl pull` does) of images of the same size, in the same run.
 */
import { performance } from "node:perf_hooks"
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node"
import { Effect, Option } from "effect"
import type { AssignmentValue } from "../controlplane/AssignmentPublisher.ts"
import { canonicalJson } from "../domain/canonicalJson.ts"
import type { ImageAssignment } from "../domain/Planner.ts"
import { desiredKey, desiredKeysOfNode, observationSubject } from "../domain/Subjects.ts"
import { openDesiredBucket } from "../eventlog/DesiredBucket.ts"
import { EventStore, layerEventLog, makeEvent } from "../eventlog/EventStore.ts"
import { Nats } from "../eventlog/Nats.ts"
import { defaultEventLogSettings, provisionEventLog } from "../eventlog/Provisioning.ts"
import { group, version } from "../infra/crd/definitions.ts"
import { installCrds } from "../infra/crd/install.ts"
import { startControlPlaneProcess, startNodeAgentProcess } from "../infra/local/CoralProcesses.ts"
import { kubeConfigOf, startLocalCluster, startLocalNode } from "../infra/local/LocalCluster.ts"
import { pushTestImage } from "../infra/local/OciImages.ts"
import { createSimulatedNode } from "../infra/local/SimulatedNodes.ts"
import { makeCriImageService } from "../nodeagent/CriImageService.ts"

const nodeCount = Number(process.env.CORAL_BENCH_NODES ?? 500)
const pullRounds = Number(process.env.CORAL_BENCH_PULLS ?? 5)
const layerMiB = Number(process.env.CORAL_BENCH_LAYER_MIB ?? 32)
const cluster = "bench"
const say = (line: string) => console.log(`bench: ${line}`)
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const median = (values: ReadonlyArray<number>) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

const metricValue = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text()
  return text
    .split("\n")
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)
}

const program = Effect.gen(function* () {
  say(`starting the cluster-in-a-box (control plane, ${nodeCount} simulated nodes)`)
  const box = yield* startLocalCluster({ nodes: 0, progress: say })
  const kubeConfig = kubeConfigOf(box.kube)
  yield* installCrds(kubeConfig)
  const core = kubeConfig.makeApiClient(CoreV1Api)
  for (let i = 0; i < nodeCount; i++) {
    yield* createSimulatedNode(core, { name: `sim-${i}`, labels: { "coral.stvz.io/bench": "yes" } }, i)
  }
  say(`created ${nodeCount} Node objects`)
  const live = layerEventLog(cluster, { servers: box.nats.url, name: "bench" })

  const fanOut = yield* Effect.gen(function* () {
    yield* provisionEventLog(defaultEventLogSettings(cluster))
    const controlPlane = yield* startControlPlaneProcess(box.dir, {
      cluster,
      natsUrl: box.nats.url,
      kubeconfigPath: box.kube.kubeconfigPath,
    })
    const store = yield* EventStore
    const { connection } = yield* Nats
    const kv = yield* Effect.promise(() => openDesiredBucket(connection))
    let assigned = 0
    let lastAssignedAt = 0
    let events = 0
    const answered = new Set<string>()
    // The simulated agents: one KV watch per node, answering each new assignment.
    for (let i = 0; i < nodeCount; i++) {
      const node = `sim-${i}`
      const watch = yield* Effect.promise(() => kv.watch({ key: desiredKeysOfNode(cluster, node) }))
      yield* Effect.forkScoped(
        Effect.promise(async () => {
          for await (const entry of watch) {
            if (entry.operation !== "PUT" || answered.has(node)) continue
            answered.add(node)
            assigned++
            lastAssignedAt = performance.now()
            const value = entry.json<AssignmentValue>()
            if (value.assignment.kind !== "ImageSync") continue
            const key = { kind: "ImageSync", namespace: "default", name: value.assignment.name } as const
            for (const phase of ["Pulling", "Ready"] as const) {
              for (const image of value.assignment.images) {
                const event = await Effect.runPromise(
                  makeEvent(
                    "ImageStatusReported",
                    {
                      node,
                      namespace: "default",
                      name: value.assignment.name,
                      resourceUid: value.assignment.uid,
                      image,
                      phase,
                    },
                    { cluster },
                  ),
                )
                await Effect.runPromise(
                  store.append(observationSubject(cluster, key, { node }), event, { msgId: event.id }),
                )
                events++
              }
            }
          }
        }),
      )
    }
    say(`${nodeCount} simulated agents watching; applying an ImageSync that selects all of them`)
    const custom = kubeConfig.makeApiClient(CustomObjectsApi)
    const writesBefore = yield* Effect.promise(() =>
      metricValue(controlPlane.metricsUrl, "coral_controlplane_status_writes_total"),
    )
    const started = performance.now()
    yield* Effect.promise(() =>
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace: "default",
        plural: "imagesyncs",
        body: {
          apiVersion: `${group}/${version}`,
          kind: "ImageSync",
          metadata: { name: "fan-out" },
          spec: {
            images: ["registry.bench.local/app:1"],
            nodeSelector: { matchLabels: { "coral.stvz.io/bench": "yes" } },
            parallelism: nodeCount,
          },
        },
      }),
    )
    let readyAt = 0
    for (;;) {
      const object = (yield* Effect.promise(() =>
        custom.getNamespacedCustomObject({
          group,
          version,
          namespace: "default",
          plural: "imagesyncs",
          name: "fan-out",
        }),
      )) as { status?: { readyNodes?: number } }
      if (object.status?.readyNodes === nodeCount) {
        readyAt = performance.now()
        break
      }
      if (performance.now() - started > 600_000) throw new Error("not Ready after 10 minutes")
      yield* Effect.sleep("100 millis")
    }
    // Let the last coalesced writes land before counting them.
    yield* Effect.sleep("2 seconds")
    const writes =
      (yield* Effect.promise(() =>
        metricValue(controlPlane.metricsUrl, "coral_controlplane_status_writes_total"),
      )) - writesBefore
    return {
      assignedMs: lastAssignedAt - started,
      assigned,
      readyMs: readyAt - started,
      events,
      writes,
    }
  }).pipe(Effect.provide(live))

  say(
    `pull path: ${pullRounds} images of ${layerMiB} MiB through the node agent and directly through the CRI`,
  )
  const node = yield* startLocalNode(
    { dir: box.dir, binaries: box.binaries, kube: box.kube, registries: box.registries },
    { name: "puller", index: nodeCount + 1 },
  )
  const cri = yield* makeCriImageService(node.containerd.socket)
  const registry = { host: box.registries.public.host, insecure: true }
  const push = (repository: string) =>
    pushTestImage(registry, { repository, tag: "1", layerBytes: layerMiB * 1024 * 1024 }).pipe(
      Effect.map((i) => i.reference),
    )

  const direct: Array<number> = []
  for (let round = 0; round < pullRounds; round++) {
    const image = yield* push(`bench/direct-${round}`)
    const started = performance.now()
    yield* cri.pullImage(image, { timeout: "10 minutes" })
    direct.push(performance.now() - started)
  }

  const viaAgent = yield* Effect.gen(function* () {
    yield* provisionEventLog(defaultEventLogSettings("bench-pull"))
    yield* startNodeAgentProcess(box.dir, {
      cluster: "bench-pull",
      natsUrl: box.nats.url,
      node: "puller",
      criSocket: node.containerd.socket,
    })
    const { connection } = yield* Nats
    const kv = yield* Effect.promise(() => openDesiredBucket(connection))
    const times: Array<number> = []
    for (let round = 0; round < pullRounds; round++) {
      const image = yield* push(`bench/agent-${round}`)
      const assignment: ImageAssignment = {
        kind: "ImageSync",
        namespace: "default",
        name: `pull-${round}`,
        uid: `uid-${round}`,
        generation: 1,
        plannedFromSequence: 1,
        images: [image],
        pullPolicy: "IfNotPresent",
        refreshInterval: "15m",
        pullTimeout: "10m",
        backoff: { base: "1s", max: "10s" },
        imagePullSecrets: [],
      }
      const key = desiredKey("bench-pull", "puller", {
        kind: "ImageSync",
        namespace: "default",
        name: `pull-${round}`,
      })
      // Ready means: the agent pulled it, confirmed it with ImageStatus and published its report.
      const subject = observationSubject(
        "bench-pull",
        { kind: "ImageSync", namespace: "default", name: `pull-${round}` },
        { node: "puller" },
      )
      const sub = connection.subscribe(subject)
      const started = performance.now()
      yield* Effect.promise(() => kv.put(key, canonicalJson({ assignment })))
      yield* Effect.promise(async () => {
        for await (const message of sub) {
          if ((message.json() as { data: { phase: string } }).data.phase === "Ready") break
        }
      })
      times.push(performance.now() - started)
      if (Option.isNone(yield* cri.imageStatus(image))) throw new Error(`${image} is not in the runtime`)
    }
    return times
  }).pipe(Effect.provide(live))

  const rows: Array<[string, string]> = [
    ["simulated nodes", String(nodeCount)],
    ["apply → every agent has its assignment", seconds(fanOut.assignedMs)],
    ["apply → status Ready on every node", seconds(fanOut.readyMs)],
    ["status events published", String(fanOut.events)],
    ["status writes to the API server", String(fanOut.writes)],
    ["events per status write", (fanOut.events / Math.max(1, fanOut.writes)).toFixed(1)],
    [`direct CRI PullImage, ${layerMiB} MiB (median of ${pullRounds})`, seconds(median(direct))],
    [`node agent: assignment → Ready, ${layerMiB} MiB (median of ${pullRounds})`, seconds(median(viaAgent))],
    ["agent / direct (overhead ratio)", (median(viaAgent) / Math.max(1, median(direct))).toFixed(2)],
  ]
  const width = Math.max(...rows.map(([name]) => name.length))
  console.log(`\n| ${"measure".padEnd(width)} | value |\n| ${"-".repeat(width)} | ----- |`)
  for (const [name, value] of rows) console.log(`| ${name.padEnd(width)} | ${value} |`)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
