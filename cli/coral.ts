#!/usr/bin/env node
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Config, Console, Effect, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { auditTrail } from "../domain/AuditTrail.ts"
import type { ImageSyncStatus } from "../domain/ImageSync.ts"
import { fold } from "../domain/Projection.ts"
import { eventSubjects, type ResourceKind, resourceKeyString } from "../domain/Subjects.ts"
import { EventStore, layerEventLog, type ReplayedMessage, replayHistory } from "../eventlog/EventStore.ts"
import { describeCluster } from "../infra/local/describeCluster.ts"
import { startCoral, startLocalCluster } from "../infra/local/LocalCluster.ts"
import { kubeConfigFrom, kubeconfigFlag, listImageSyncs } from "./ImageSyncs.ts"
import { parseSince } from "./parseSince.ts"
import { renderAudit, table } from "./renderAudit.ts"
import { verifyReplay } from "./verifyReplay.ts"

const nats = Flag.String("nats").pipe(
  Flag.withDescription("NATS server URL(s), comma-separated"),
  Flag.withFallbackConfig(Config.String("CORAL_NATS_URL")),
)
const cluster = Flag.String("cluster").pipe(
  Flag.withDescription("Coral's name for this cluster, as in the processes' CORAL_CLUSTER"),
  Flag.withFallbackConfig(Config.String("CORAL_CLUSTER")),
  Flag.withDefault("local"),
)
const nkeyFile = Flag.String("nkey-file").pipe(
  Flag.withDescription("file with an NKey seed, when NATS requires one"),
  Flag.withFallbackConfig(Config.String("CORAL_NATS_NKEY_FILE")),
  Flag.optional,
)
const output = Flag.Literals("output", ["table", "json"]).pipe(Flag.withDefault("table"))
const since = Flag.String("since").pipe(
  Flag.withDescription("an ISO time, or a duration back from now such as 15m or 2h"),
  Flag.optional,
)

const connection = { nats, cluster, nkeyFile }

const withStore = (settings: { nats: string; cluster: string; nkeyFile: Option.Option<string> }) =>
  layerEventLog(settings.cluster, {
    servers: settings.nats.split(","),
    name: "coral-cli",
    ...(Option.isSome(settings.nkeyFile) ? { nkeySeedFile: settings.nkeyFile.value } : {}),
  })

const kinds: Record<string, ResourceKind> = {
  imagesync: "ImageSync",
  imagesyncs: "ImageSync",
  artifactsync: "ArtifactSync",
  artifactsyncs: "ArtifactSync",
  mirror: "Mirror",
  mirrors: "Mirror",
}

const parseTarget = (target: string) => {
  const [kind = "", namespace, name] = target.split("/")
  const resolved = kinds[kind.toLowerCase()]
  if (!resolved || !namespace || !name) {
    return Effect.fail(
      new Error(`"${target}" is not <kind>/<namespace>/<name>, e.g. imagesync/default/web-images`),
    )
  }
  return Effect.succeed({ kind: resolved, namespace, name })
}

const audit = Command.make(
  "audit",
  {
    target: Argument.String("kind/namespace/name"),
    since,
    until: Flag.String("until").pipe(
      Flag.withDescription("an ISO time, or a duration back from now such as 5m"),
      Flag.optional,
    ),
    output,
    ...connection,
  },
  (config) =>
    Effect.gen(function* () {
      const key = yield* parseTarget(config.target)
      // The planner's decisions depend on every node and resource, so the whole stream is replayed.
      const history = yield* replayHistory(config.cluster)
      const from = Option.isSome(config.since) ? (yield* parseSince(config.since.value)).getTime() : 0
      const to = Option.isSome(config.until)
        ? (yield* parseSince(config.until.value)).getTime()
        : Number.POSITIVE_INFINITY
      const trail = auditTrail(history, key).filter((entry) => {
        const at = Date.parse(entry.at)
        return at >= from && at <= to
      })
      if (config.output === "json") {
        for (const entry of trail) yield* Console.log(JSON.stringify(entry))
        return
      }
      if (trail.length === 0)
        return yield* Console.log(`no events for ${key.kind}/${key.namespace}/${key.name}`)
      yield* Console.log(renderAudit(trail))
    }).pipe(Effect.provide(withStore(config))),
).pipe(Command.withDescription("Replays CORAL_EVENTS and tells one resource's story in order"))

const describeEvent = (message: ReplayedMessage) => {
  if (message._tag === "Undecodable") return `undecodable: ${message.reason}`
  const { event } = message
  const data = event.data as unknown as Record<string, unknown>
  const who = [data.kind, data.namespace, data.name].filter(Boolean).join("/")
  const extra = [data.node, data.image ?? data.artifact, data.phase, data.reason].filter(Boolean).join(" ")
  return `${event.type} ${who}${extra ? ` ${extra}` : ""}`
}

const tail = Command.make(
  "tail",
  {
    subject: Flag.String("subject").pipe(Flag.withDescription("NATS subject filter"), Flag.optional),
    fromStart: Flag.Boolean("from-start").pipe(Flag.withDefault(false)),
    since,
    output,
    ...connection,
  },
  (config) =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const subjects = Option.isSome(config.subject) ? [config.subject.value] : eventSubjects(config.cluster)
      const start = Option.isSome(config.since)
        ? { since: yield* parseSince(config.since.value) }
        : config.fromStart
          ? {}
          : { fromSequence: (yield* store.streamLastSequence) + 1 }
      yield* store
        .follow({ subjects, ...start })
        .pipe(
          Stream.runForEach((message) =>
            Console.log(
              config.output === "json"
                ? JSON.stringify(
                    message._tag === "Event"
                      ? { sequence: message.sequence, subject: message.subject, event: message.event }
                      : message,
                  )
                : `${String(message.sequence).padStart(6)}  ${message.time.toISOString()}  ${describeEvent(message)}`,
            ),
          ),
        )
    }).pipe(Effect.provide(withStore(config))),
).pipe(Command.withDescription("Prints events as they arrive (or replays them first), one line each"))

const eventsCommand = Command.make("events").pipe(
  Command.withDescription("Live and replayed views of CORAL_EVENTS"),
  Command.withSubcommands([tail]),
)

const up = Command.make("up", { nodes: Flag.Int("nodes").pipe(Flag.withDefault(3)) }, (config) =>
  Effect.gen(function* () {
    const say = (line: string) => console.log(`coral up: ${line}`)
    const box = yield* startLocalCluster({ nodes: config.nodes, progress: say, natsUsersFor: "local" })
    say("starting the Coral control plane and one node agent per node")
    yield* startCoral(box, { cluster: "local" })
    yield* Console.log(`\n${describeCluster(box)}\n`)
    yield* Console.log(
      `  coral CLI: CORAL_NATS_URL=${box.nats.url} CORAL_CLUSTER=local CORAL_NATS_NKEY_FILE=${box.nats.credentials?.controlPlane ?? ""} npx coral …`,
    )
    yield* Console.log("\nPress Ctrl-C to stop everything.")
    return yield* Effect.never
  }).pipe(Effect.scoped),
).pipe(Command.withDescription("Starts the local cluster-in-a-box with Coral and stays up until Ctrl-C"))

const status = Command.make(
  "status",
  {
    target: Argument.String("kind/namespace/name").pipe(Argument.optional),
    kubeconfig: kubeconfigFlag,
    ...connection,
  },
  (config) =>
    Effect.gen(function* () {
      if (Option.isNone(config.target)) {
        const items = yield* listImageSyncs(kubeConfigFrom(config.kubeconfig))
        const ready = (s: ImageSyncStatus | undefined) => s?.conditions?.find((c) => c.type === "Ready")
        return yield* Console.log(
          table([
            [
              "KIND/NAMESPACE/NAME",
              "READY",
              "DESIRED",
              "READY-NODES",
              "PULLING",
              "FAILED",
              "REASON",
              "SEQUENCE",
            ],
            ...items.map((o) => [
              `imagesync/${o.metadata.namespace}/${o.metadata.name}`,
              ready(o.status)?.status ?? "-",
              String(o.status?.desiredNodes ?? "-"),
              String(o.status?.readyNodes ?? "-"),
              String(o.status?.pullingNodes ?? "-"),
              String(o.status?.failedNodes ?? "-"),
              ready(o.status)?.reason ?? "-",
              String(o.status?.lastEventSequence ?? "-"),
            ]),
          ]),
        )
      }
      const key = yield* parseTarget(config.target.value)
      const state = fold(yield* replayHistory(config.cluster))
      const prefix = `${resourceKeyString(key)}|`
      const rows = Object.entries(state.items)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, s]) => {
          const [, node = "", item = ""] = k.split("|")
          return [node, item, s.phase, s.since, s.reason ?? "", String(s.sequence)]
        })
        .sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`))
      if (rows.length === 0) return yield* Console.log(`no node has reported on ${resourceKeyString(key)}`)
      yield* Console.log(table([["NODE", "ITEM", "PHASE", "SINCE", "REASON", "SEQUENCE"], ...rows]))
    }).pipe(Effect.provide(withStore(config))),
).pipe(
  Command.withDescription(
    "Resources and their status; with kind/namespace/name, each node's state from the stream",
  ),
)

const replay = Command.make(
  "replay",
  {
    verify: Flag.Boolean("verify").pipe(Flag.withDescription("compare the rebuilt state with the cluster")),
    kubeconfig: kubeconfigFlag,
    maxPullsPerRegistry: Flag.Int("max-pulls-per-registry").pipe(
      Flag.withFallbackConfig(Config.Int("CORAL_MAX_PULLS_PER_REGISTRY")),
      Flag.withDefault(50),
    ),
    ...connection,
  },
  (config) =>
    Effect.gen(function* () {
      if (!config.verify)
        return yield* Effect.fail(
          new Error(
            "coral replay needs --verify (comparing the rebuilt state with the cluster is its only mode so far)",
          ),
        )
      const result = yield* verifyReplay({
        cluster: config.cluster,
        kubeConfig: kubeConfigFrom(config.kubeconfig),
        plan: { maxPullsPerRegistry: config.maxPullsPerRegistry },
      })
      if (result.lines.length === 0) {
        return yield* Console.log(
          `in agreement: ${result.resources} ImageSync status(es) and ${result.assignments} assignment(s) match the replay of ${result.lastSequence} event(s)`,
        )
      }
      for (const line of result.lines) yield* Console.log(line)
      yield* Console.log(`${result.lines.length} difference(s) between the stream and the cluster`)
      return yield* Effect.sync(() => {
        process.exitCode = 1
      })
    }).pipe(Effect.provide(withStore(config))),
).pipe(
  Command.withDescription(
    "Rebuilds the state from the stream; with --verify, diffs it against statuses and assignments",
  ),
)

const coral = Command.make("coral").pipe(
  Command.withDescription("Coral: prefetch images and artifacts to Kubernetes nodes"),
  Command.withSubcommands([audit, eventsCommand, replay, status, up]),
)

Command.run(coral, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
