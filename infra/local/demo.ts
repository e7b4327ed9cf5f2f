/**
 * `npm run demo`: the local cluster-in-a-box running Coral's main job. It starts a Kubernetes API
 * server, NATS, two registries and three simulated nodes (each a containerd with its own node
 * agent), starts the control plane, seeds the registries and applies the example ImageSync, shows
 * progress until it is Ready, prints what `kubectl` and each node's runtime show, and keeps
 * everything up until Ctrl-C. `--exit-when-done` tears it all down once the scenario has run.
 */
import { execFileSync } from "node:child_process"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import { renderAudit } from "../../cli/renderAudit.ts"
import { auditTrail } from "../../domain/AuditTrail.ts"
import { layerEventLog, replayHistory } from "../../eventlog/EventStore.ts"
import { makeCriImageService } from "../../nodeagent/CriImageService.ts"
import { runDemoScenario } from "./DemoScenario.ts"
import { describeCluster } from "./describeCluster.ts"
import { startCoral, startLocalCluster } from "./LocalCluster.ts"

const exitWhenDone = process.argv.includes("--exit-when-done")
const say = (line: string) => console.log(`coral demo: ${line}`)

const nodeLabels = (index: number) => ({
  "coral.stvz.io/pool": index < 2 ? "general" : "gpu",
  "topology.kubernetes.io/zone": `zone-${String.fromCharCode(97 + index)}`,
})

const program = Effect.gen(function* () {
  const started = Date.now()
  const box = yield* startLocalCluster({ nodes: 3, nodeLabels, progress: say, natsUsersFor: "demo" })
  say("starting the Coral control plane and one node agent per node")
  yield* startCoral(box, { cluster: "demo" })
  say(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  yield* Console.log(`\n${describeCluster(box)}\n`)

  const result = yield* runDemoScenario(box, say, Duration.minutes(3))
  say(`${result.name} is Ready in ${result.seconds.toFixed(1)}s\n`)
  const kubectl = (args: ReadonlyArray<string>) =>
    execFileSync(box.binaries.kubectl, ["--kubeconfig", box.kube.kubeconfigPath, ...args], {
      encoding: "utf8",
    })
  yield* Console.log(`$ kubectl get imagesyncs -o wide\n${kubectl(["get", "imagesyncs", "-o", "wide"])}`)
  yield* Console.log(
    `$ kubectl get nodes -L coral.stvz.io/pool\n${kubectl(["get", "nodes", "-L", "coral.stvz.io/pool"])}`,
  )
  for (const node of box.nodes) {
    const cri = yield* makeCriImageService(node.containerd.socket)
    const images = (yield* cri.listImages).flatMap((image) => image.repoTags).sort()
    yield* Console.log(
      `images in ${node.name}'s containerd: ${images.length === 0 ? "(none)" : images.join(", ")}`,
    )
  }
  const history = yield* replayHistory("demo").pipe(
    Effect.provide(
      layerEventLog("demo", {
        servers: box.nats.url,
        name: "coral-demo",
        ...(box.nats.credentials ? { nkeySeedFile: box.nats.credentials.controlPlane } : {}),
      }),
    ),
  )
  const trail = auditTrail(history, { kind: "ImageSync", namespace: result.namespace, name: result.name })
  yield* Console.log(`\n$ coral audit imagesync/${result.namespace}/${result.name}\n${renderAudit(trail)}`)
  yield* Console.log(
    "\nThe ArtifactSync and Mirror examples are not applied yet: those capabilities are still to come.",
  )
  if (exitWhenDone) return
  yield* Console.log("Press Ctrl-C to stop everything.")
  yield* Effect.never
})

NodeRuntime.runMain(
  Effect.scoped(program).pipe(
    Effect.ensuring(Console.log("coral demo: stopped every server and removed its files")),
  ),
)
