/**
 * `npm run demo`: brings the local cluster-in-a-box up with three simulated nodes, prints what runs
 * where, and keeps it up until Ctrl-C. `--exit-when-done` tears it down as soon as it is up (tests).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { describeCluster } from "./describeCluster.ts"
import { startLocalCluster } from "./LocalCluster.ts"

const exitWhenDone = process.argv.includes("--exit-when-done")

const nodeLabels = (index: number) => ({
  "coral.stvz.io/pool": index < 2 ? "general" : "gpu",
  "topology.kubernetes.io/zone": `zone-${String.fromCharCode(97 + index)}`,
})

const program = Effect.gen(function* () {
  const started = Date.now()
  const cluster = yield* startLocalCluster({
    nodes: 3,
    nodeLabels,
    progress: (line) => console.log(`coral demo: ${line}`),
  })
  yield* Console.log(`coral demo: cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
  yield* Console.log(describeCluster(cluster))
  if (exitWhenDone) return
  yield* Console.log("\nPress Ctrl-C to stop everything.")
  yield* Effect.never
})

NodeRuntime.runMain(
  Effect.scoped(program).pipe(
    Effect.ensuring(Console.log("coral demo: stopped every server and removed its files")),
  ),
)
