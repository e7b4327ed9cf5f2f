/**
 * The main job end to end, on real servers: a kube-apiserver with three Nodes whose labels differ,
 * three containerds each with its own node-agent process, one control-plane process, and registries
 * holding a public single-platform image, a multi-platform index and an image behind basic auth
 * (referenced by digest, with its credentials in a dockerconfigjson secret). Every assertion reads
 * what the servers hold: the ImageSync's status in the API server, the images in each containerd.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { Effect, Option, Redacted, Result, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { normaliseImageReference, parseImageReference, runtimeHolds } from "../../domain/ImageReference.ts"
import type { ImageSyncStatus } from "../../domain/ImageSync.ts"
import { imageLabelKey, warmingTaintKey } from "../../domain/NodeMarks.ts"
import { specSubject } from "../../domain/Subjects.ts"
import { openDesiredBucket } from "../../eventlog/DesiredBucket.ts"
import { EventStore, layerEventLog } from "../../eventlog/EventStore.ts"
import { connectNats } from "../../eventlog/Nats.ts"
import { group, version } from "../../infra/crd/definitions.ts"
import { startControlPlaneProcess } from "../../infra/local/CoralProcesses.ts"
import { kubeConfigOf, startCoral, startLocalCluster } from "../../infra/local/LocalCluster.ts"
import { pushTestImage } from "../../infra/local/OciImages.ts"
import { createPullSecret } from "../../infra/local/PullSecrets.ts"
import { makeCriImageService } from "../../nodeagent/CriImageService.ts"
import { eventually } from "../support/eventually.ts"
import { scopedResource } from "../support/sharedServers.ts"

const cluster = "e2e"
const coralCli = fileURLToPath(new URL("../../cli/coral.ts", import.meta.url))
const namespace = "default"

const world = scopedResource(
  Effect.gen(function* () {
    const box = yield* startLocalCluster({
      nodes: 3,
      natsUsersFor: cluster,
      nodeLabels: (i) => ({
        "coral.stvz.io/pool": i < 2 ? "general" : "gpu",
        "coral.stvz.io/zone": `z${i + 1}`,
      }),
    })
    const publicRegistry = { host: box.registries.public.host, insecure: true }
    const privateCredentials = box.registries.private.credentials
    if (!privateCredentials) throw new Error("the private registry has no credentials")
    const privateRegistry = {
      host: box.registries.private.host,
      insecure: true,
      username: privateCredentials.username,
      password: privateCredentials.password,
    }
    const single = yield* pushTestImage(publicRegistry, {
      repository: "e2e/single",
      tag: "1.0",
      layerBytes: 256 * 1024,
    })
    const multi = yield* pushTestImage(publicRegistry, {
      repository: "e2e/multi",
      tag: "2.0",
      layerBytes: 128 * 1024,
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
    })
    const secret = yield* pushTestImage(privateRegistry, {
      repository: "e2e/private",
      tag: "3.0",
      layerBytes: 64 * 1024,
    })
    const privateByDigest = `${box.registries.private.host}/e2e/private@${secret.digest}`

    const { controlPlane, agents } = yield* startCoral(box, {
      cluster,
      controlPlaneEnv: { CORAL_RESYNC_INTERVAL: "5s" },
      agentEnv: { CORAL_RECHECK_INTERVAL: "2s" },
    })
    const runtimes = new Map<string, Effect.Success<ReturnType<typeof makeCriImageService>>>()
    for (const node of box.nodes) runtimes.set(node.name, yield* makeCriImageService(node.containerd.socket))
    return {
      box,
      controlPlane,
      agents,
      runtimes,
      images: { single: single.reference, multi: multi.reference, privateByDigest },
      privateCredentials: {
        username: privateCredentials.username,
        password: Redacted.value(privateCredentials.password),
      },
    }
  }),
)

/** Runs the `coral` CLI against this cluster, with the control plane's NATS credentials. */
const privateCredentialsText = () => world().privateCredentials.password

const runCoral = (args: ReadonlyArray<string>, timeout?: number) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const env = {
      ...process.env,
      CORAL_NATS_URL: world().box.nats.url,
      CORAL_CLUSTER: cluster,
      CORAL_NATS_NKEY_FILE: world().box.nats.credentials?.controlPlane ?? "",
      CORAL_KUBECONFIG: world().box.kube.kubeconfigPath,
    }
    execFile(
      process.execPath,
      [coralCli, ...args],
      { env, ...(timeout ? { timeout } : {}) },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

/** NATS as the control plane sees it (the harness runs NATS with Coral's per-node users). */
const inspector = () => ({
  servers: world().box.nats.url,
  name: "e2e-inspector",
  nkeySeedFile: world().box.nats.credentials?.controlPlane ?? "",
})

const custom = () => kubeConfigOf(world().box.kube).makeApiClient(CustomObjectsApi)
const core = () => kubeConfigOf(world().box.kube).makeApiClient(CoreV1Api)

const applyImageSync = async (name: string, spec: Record<string, unknown>) => {
  const body = { apiVersion: `${group}/${version}`, kind: "ImageSync", metadata: { name, namespace }, spec }
  try {
    await custom().createNamespacedCustomObject({ group, version, namespace, plural: "imagesyncs", body })
  } catch {
    const current = (await custom().getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "imagesyncs",
      name,
    })) as {
      metadata: { resourceVersion: string }
    }
    await custom().replaceNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "imagesyncs",
      name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
    })
  }
}

const statusOf = async (name: string) =>
  (
    (await custom().getNamespacedCustomObject({ group, version, namespace, plural: "imagesyncs", name })) as {
      status?: ImageSyncStatus
    }
  ).status

const condition = (status: ImageSyncStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type)

/** Whether node `node`'s containerd holds `image` (compared through the canonical reference). */
const holds = async (node: string, image: string) => {
  const runtime = world().runtimes.get(node)
  if (!runtime) throw new Error(`no runtime for ${node}`)
  const found = await Effect.runPromise(runtime.imageStatus(image))
  return Option.isSome(found) && runtimeHolds(Result.getOrThrow(parseImageReference(image)), found.value)
}

const push = (repository: string, registry: "public" | "private" = "public") => {
  const { box } = world()
  const target = box.registries[registry]
  const endpoint = {
    host: target.host,
    insecure: true,
    ...(target.credentials
      ? { username: target.credentials.username, password: target.credentials.password }
      : {}),
  }
  return Effect.runPromise(pushTestImage(endpoint, { repository, tag: "1", layerBytes: 32 * 1024 })).then(
    (i) => i.reference,
  )
}

const waitReady = (name: string, readyNodes: number, generation = 1) =>
  eventually(
    `${name} is Ready on ${readyNodes} node(s) at generation ${generation}`,
    async () => {
      const current = await statusOf(name)
      expect(condition(current, "Ready")?.status, JSON.stringify(current)).toBe("True")
      expect(current?.observedGeneration).toBe(generation)
      expect(current?.readyNodes).toBe(readyNodes)
      return current
    },
    { timeoutMs: 90_000 },
  )

const nodesHolding = async (image: string) => {
  const holding: Array<string> = []
  for (const node of ["node-1", "node-2", "node-3"]) if (await holds(node, image)) holding.push(node)
  return holding
}

/** Keys of `coral_desired` for one ImageSync, read from NATS. */
const desiredKeysOf = (name: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { connection } = yield* connectNats(inspector())
        return yield* Effect.promise(async () => {
          const kv = await openDesiredBucket(connection)
          const keys: Array<string> = []
          for await (const key of await kv.keys(`${cluster}.*.imagesync.${namespace}.${name}`)) keys.push(key)
          return keys.sort()
        })
      }),
    ),
  )

/** The secret of the first test: written with a scheme and the `auth` field, as docker login does. */
const pullSecret = async () => {
  const { box, privateCredentials } = world()
  const auth = Buffer.from(`${privateCredentials.username}:${privateCredentials.password}`).toString("base64")
  await Effect.runPromise(
    createPullSecret(core(), {
      namespace,
      name: "registry-credentials",
      auths: { [`http://${box.registries.private.host}`]: { auth } },
    }).pipe(Effect.ignore),
  )
}

describe("image prefetch end to end", () => {
  it("pulls every image onto the two selected nodes and none onto the third, and says Ready", async () => {
    await pullSecret()
    const { single, multi, privateByDigest } = world().images
    await applyImageSync("general-pool", {
      images: [single, multi, privateByDigest],
      nodeSelector: { matchLabels: { "coral.stvz.io/pool": "general" } },
      imagePullSecrets: [{ name: "registry-credentials" }],
    })
    const status = await eventually(
      "general-pool is Ready on two nodes",
      async () => {
        const current = await statusOf("general-pool")
        expect(condition(current, "Ready")?.status, JSON.stringify(current)).toBe("True")
        expect(current?.readyNodes).toBe(2)
        return current
      },
      { timeoutMs: 120_000 },
    )
    expect(status?.desiredNodes).toBe(2)
    expect(status?.failedNodes).toBe(0)
    expect(status?.images?.map((i) => i.ready)).toEqual([2, 2, 2])
    await eventually("a Ready event is recorded", async () => {
      const events = await core().listNamespacedEvent({
        namespace,
        fieldSelector: "involvedObject.name=general-pool",
      })
      expect(events.items.map((e) => e.reason)).toContain("Ready")
    })
    for (const image of [single, multi, privateByDigest]) {
      expect(await holds("node-1", image), `node-1 ${image}`).toBe(true)
      expect(await holds("node-2", image), `node-2 ${image}`).toBe(true)
      expect(await holds("node-3", image), `node-3 ${image}`).toBe(false)
    }
  })
  it("pulls again an image removed from one containerd behind the agent's back", async () => {
    const { single } = world().images
    await waitReady("general-pool", 2)
    const runtime = world().runtimes.get("node-1")
    await Effect.runPromise(runtime?.removeImage(single) ?? Effect.void)
    expect(await holds("node-1", single)).toBe(false)
    await eventually("node-1 holds the image again", async () =>
      expect(await holds("node-1", single)).toBe(true),
    )
    await waitReady("general-pool", 2)
  })

  it("moves assignments when the selector changes, and keeps replicas: 1 on one node only", async () => {
    const image = await push("e2e/mover")
    await applyImageSync("mover", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z1" } },
    })
    await waitReady("mover", 1)
    expect(await nodesHolding(image)).toEqual(["node-1"])
    expect(await desiredKeysOf("mover")).toEqual([`${cluster}.node-1.imagesync.${namespace}.mover`])

    await applyImageSync("mover", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z3" } },
    })
    await eventually("the assignment moved to node-3", async () =>
      expect(await desiredKeysOf("mover")).toEqual([`${cluster}.node-3.imagesync.${namespace}.mover`]),
    )
    await eventually("node-3 holds the image", async () => expect(await holds("node-3", image)).toBe(true))
    const moved = await waitReady("mover", 1, 2)
    expect(moved?.desiredNodes).toBe(1)

    const once = await push("e2e/replica")
    await applyImageSync("one-replica", { images: [once], replicas: 1 })
    const status = await waitReady("one-replica", 1)
    expect(status?.desiredNodes).toBe(1)
    expect(await nodesHolding(once)).toHaveLength(1)
    expect(await desiredKeysOf("one-replica")).toHaveLength(1)
  })

  it("deleting an ImageSync removes its assignments and leaves its images on the nodes", async () => {
    const image = await push("e2e/deleted")
    await applyImageSync("to-delete", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z2" } },
    })
    await waitReady("to-delete", 1)
    expect(await desiredKeysOf("to-delete")).toHaveLength(1)
    await custom().deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "imagesyncs",
      name: "to-delete",
    })
    await eventually("its assignments are gone", async () =>
      expect(await desiredKeysOf("to-delete")).toEqual([]),
    )
    expect(await holds("node-2", image)).toBe(true)
  })

  it("reports an unpullable image and a wrong password as Degraded, naming each, while the rest becomes ready", async () => {
    const good = await push("e2e/good")
    const missing = `${world().box.registries.public.host}/e2e/does-not-exist:1`
    const locked = await push("e2e/locked", "private")
    await Effect.runPromise(
      createPullSecret(core(), {
        namespace,
        name: "wrong-password",
        auths: { [world().box.registries.private.host]: { username: "coral", password: "wrong" } },
      }),
    )
    await applyImageSync("broken", {
      images: [good, missing, locked],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z1" } },
      imagePullSecrets: [{ name: "wrong-password" }],
    })
    const status = await eventually(
      "broken is Degraded with both failures",
      async () => {
        const current = await statusOf("broken")
        expect(condition(current, "Degraded")?.status).toBe("True")
        const reasons = Object.fromEntries((current?.recentFailures ?? []).map((f) => [f.image, f.reason]))
        expect(reasons).toEqual({ [missing]: "ImageNotFound", [locked]: "Unauthorized" })
        return current
      },
      { timeoutMs: 90_000 },
    )
    expect(condition(status, "Ready")?.status).toBe("False")
    expect(status?.images?.find((i) => i.image === good)?.ready).toBe(1)
    expect(condition(status, "Degraded")?.message).toContain("node-1")
    expect(await holds("node-1", good)).toBe(true)
    await eventually("kubectl describe shows each failure as a Warning event", async () => {
      const events = await core().listNamespacedEvent({
        namespace,
        fieldSelector: "involvedObject.name=broken",
      })
      const warnings = events.items.filter((e) => e.type === "Warning").map((e) => e.reason)
      expect(warnings).toEqual(expect.arrayContaining(["ImageNotFound", "Unauthorized"]))
    })
  })

  it("backs off while a registry is down and converges when it returns, without restarting Coral", async () => {
    const image = await push("e2e/outage")
    const registry = world().box.registries.public.process
    await Effect.runPromise(registry.stop)
    try {
      await applyImageSync("outage", {
        images: [image],
        nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z2" } },
      })
      await eventually(
        "the pull fails with RegistryUnavailable",
        async () => {
          const current = await statusOf("outage")
          expect(current?.recentFailures?.[0]?.reason, JSON.stringify(current)).toBe("RegistryUnavailable")
        },
        { timeoutMs: 60_000 },
      )
    } finally {
      await Effect.runPromise(registry.start)
    }
    await waitReady("outage", 1)
    expect(await holds("node-2", image)).toBe(true)
  })

  it("loses no event when the control plane is killed and restarted, and its statuses converge", async () => {
    const { controlPlane } = world()
    await Effect.runPromise(controlPlane.process.signal("SIGKILL"))
    await eventually("the control plane is gone", () => expect(controlPlane.process.pid()).toBeUndefined())
    // While it is down: a new ImageSync, and an image the agent must pull again (and report).
    const image = await push("e2e/while-down")
    await applyImageSync("while-down", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z3" } },
    })
    const { single } = world().images
    await Effect.runPromise(world().runtimes.get("node-2")?.removeImage(single) ?? Effect.void)
    await eventually("node-2's agent pulled it again on its own", async () =>
      expect(await holds("node-2", single)).toBe(true),
    )

    await Effect.runPromise(controlPlane.process.start)
    await waitReady("while-down", 1)
    await waitReady("general-pool", 2)
    expect(await holds("node-3", image)).toBe(true)

    const applied = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* EventStore
          const subject = specSubject(cluster, { kind: "ImageSync", namespace, name: "while-down" })
          const events = yield* Stream.runCollect(store.replay({ subjects: [subject] }))
          return events.filter((m) => m._tag === "Event" && m.event.type === "ResourceApplied")
        }).pipe(Effect.provide(layerEventLog(cluster, inspector()))),
      ),
    )
    expect(applied).toHaveLength(1)
  })
  it("labels nodes with the images they hold, and removes the warming taint once a node is warm", async () => {
    await core().patchNode(
      {
        name: "node-3",
        body: { spec: { taints: [{ key: warmingTaintKey, value: "true", effect: "NoSchedule" }] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    const image = await push("e2e/warm")
    await applyImageSync("warm-up", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z3" } },
    })
    await waitReady("warm-up", 1)
    const label = imageLabelKey(Result.getOrThrow(normaliseImageReference(image)))
    await eventually("node-3 is warm and labelled", async () => {
      const node = await core().readNode({ name: "node-3" })
      expect((node.spec?.taints ?? []).map((t) => t.key)).not.toContain(warmingTaintKey)
      expect(node.metadata?.labels?.[label]).toBe("true")
    })
    const other = await core().readNode({ name: "node-1" })
    expect(other.metadata?.labels?.[label]).toBeUndefined()
  })
  it("tells an ImageSync's story with coral audit, from the stream alone", async () => {
    const { code, stdout: audit, stderr } = await runCoral(["audit", "imagesync/default/general-pool"])
    expect(code, stderr).toBe(0)
    const lines = audit.split("\n")
    const applied = lines.findIndex((l) => l.includes("spec generation 1 applied"))
    const planned = lines.findIndex(
      (l) => l.includes("planner") && l.includes("assigned node-1 (3 image(s)), node-2 (3 image(s))"),
    )
    const ready = lines.findIndex((l) => / node-1 +Ready /.test(l))
    expect(applied, audit).toBeGreaterThan(0)
    expect(planned).toBeGreaterThan(applied)
    expect(ready).toBeGreaterThan(planned)
    expect(
      lines.some((l) => /control plane +status written: 2\/2 nodes ready/.test(l)),
      audit,
    ).toBe(true)

    const summary = await runCoral(["status"])
    expect(summary.stdout).toMatch(/imagesync\/default\/general-pool +True +2 +2 /)
    const perNode = await runCoral(["status", "imagesync/default/general-pool"])
    expect(perNode.stdout).toMatch(/node-1 +127\.0\.0\.1:\d+\/e2e\/single:1\.0 +Ready/)
  })

  it("coral replay --verify agrees with a healthy cluster and shows a diff after a status is tampered with", async () => {
    // Pulls that keep failing add events all the time; verify a quiet cluster.
    await custom()
      .deleteNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "imagesyncs",
        name: "broken",
      })
      .catch(() => undefined)
    await eventually("broken's assignments are gone", async () =>
      expect(await desiredKeysOf("broken")).toEqual([]),
    )
    const verify = () => runCoral(["replay", "--verify"])
    const healthy = await eventually(
      "the replay agrees with the cluster",
      async () => {
        const result = await verify()
        expect(result.code, result.stdout).toBe(0)
        return result
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    )
    expect(healthy.stdout).toMatch(/^in agreement: \d+ ImageSync status\(es\) and \d+ assignment\(s\) match/m)

    // The control plane corrects a hand-edited status; pause it so the edit stays long enough to be seen.
    const { controlPlane } = world()
    await Effect.runPromise(controlPlane.process.signal("SIGSTOP"))
    try {
      await custom().patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          namespace,
          plural: "imagesyncs",
          name: "general-pool",
          body: { status: { readyNodes: 0 } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      )
      const tampered = await verify()
      expect(tampered.code).toBe(1)
      expect(tampered.stdout).toContain(
        "status ImageSync/default/general-pool.readyNodes: the stream says 2, the cluster has 0",
      )
    } finally {
      await Effect.runPromise(controlPlane.process.signal("SIGCONT"))
    }
    await eventually(
      "the control plane has put the status right again",
      async () => expect((await verify()).code).toBe(0),
      { timeoutMs: 60_000, intervalMs: 1000 },
    )
  })
  it("picks up a pull secret created after the ImageSync, without a restart", async () => {
    const image = await push("e2e/late-secret", "private")
    await applyImageSync("late-secret", {
      images: [image],
      nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z1" } },
      imagePullSecrets: [{ name: "created-later" }],
    })
    await eventually("the missing secret is reported", async () => {
      const current = await statusOf("late-secret")
      expect(condition(current, "Degraded")?.status, JSON.stringify(current)).toBe("True")
    })
    const { box, privateCredentials } = world()
    await Effect.runPromise(
      createPullSecret(core(), {
        namespace,
        name: "created-later",
        auths: { [box.registries.private.host]: privateCredentials },
      }),
    )
    await waitReady("late-secret", 1)
  })

  it("serves read-only metrics that count pulls", async () => {
    const [agent] = world().agents
    if (!agent) throw new Error("no agent")
    const text = await (await fetch(`${agent.metricsUrl}/metrics`)).text()
    expect(text).toMatch(/coral_nodeagent_pulls_total\{result="success"\} [1-9]/)
    expect(text).toMatch(/coral_nodeagent_pull_duration_seconds_count [1-9]/)
    expect(text).toContain("coral_nodeagent_images_desired")
    expect((await fetch(`${agent.metricsUrl}/metrics`, { method: "POST" })).status).toBe(405)
    const plane = await (await fetch(`${world().controlPlane.metricsUrl}/metrics`)).text()
    expect(plane).toMatch(/coral_controlplane_status_writes_total [1-9]/)
    expect(plane).not.toContain(privateCredentialsText())
  })

  it("prints events with coral events tail", async () => {
    const { stdout } = await runCoral(["events", "tail", "--from-start"], 4000)
    expect(stdout).toMatch(/^ +1 +\S+ +NodeObserved node-1$/m)
    expect(stdout).toMatch(/ResourceApplied ImageSync\/default\/general-pool/)
  })
  it("a standby control plane takes over when the leader dies", async () => {
    const { box, controlPlane } = world()
    const image = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* startControlPlaneProcess(box.dir, {
            cluster,
            natsUrl: box.nats.url,
            kubeconfigPath: box.kube.kubeconfigPath,
            instance: "standby",
            extraEnv: {
              CORAL_NATS_NKEY_FILE: box.nats.credentials?.controlPlane ?? "",
              CORAL_RESYNC_INTERVAL: "5s",
            },
          })
          yield* controlPlane.process.signal("SIGKILL")
          const image = yield* Effect.promise(() => push("e2e/takeover"))
          yield* Effect.promise(() =>
            applyImageSync("takeover", {
              images: [image],
              nodeSelector: { matchLabels: { "coral.stvz.io/zone": "z2" } },
            }),
          )
          // The Lease lasts 15 s: the standby leads once it has expired.
          yield* Effect.promise(() => waitReady("takeover", 1))
          yield* controlPlane.process.start
          return image
        }),
      ),
    )
    expect(await holds("node-2", image)).toBe(true)
  })
})
