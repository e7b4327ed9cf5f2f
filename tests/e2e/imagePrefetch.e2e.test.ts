/**
 * The main job end to end, on real servers: a kube-apiserver with three Nodes whose labels differ,
 * three containerds each with its own node-agent process, one control-plane process, and registries
 * holding a public single-platform image, a multi-platform index and an image behind basic auth
 * (referenced by digest, with its credentials in a dockerconfigjson secret). Every assertion reads
 * what the servers hold: the ImageSync's status in the API server, the images in each containerd.
 */
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node"
import { Effect, Option, Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseImageReference, runtimeHolds } from "../../domain/ImageReference.ts"
import type { ImageSyncStatus } from "../../domain/ImageSync.ts"
import { group, version } from "../../infra/crd/definitions.ts"
import { installCrds } from "../../infra/crd/install.ts"
import { startControlPlaneProcess, startNodeAgentProcess } from "../../infra/local/CoralProcesses.ts"
import { kubeConfigOf, startLocalCluster } from "../../infra/local/LocalCluster.ts"
import { pushTestImage } from "../../infra/local/OciImages.ts"
import { makeCriImageService } from "../../nodeagent/CriImageService.ts"
import { eventually } from "../support/eventually.ts"
import { scopedResource } from "../support/sharedServers.ts"

const cluster = "e2e"
const namespace = "default"

const world = scopedResource(
  Effect.gen(function* () {
    const box = yield* startLocalCluster({
      nodes: 3,
      nodeLabels: (i) => ({
        "coral.stvz.io/pool": i < 2 ? "general" : "gpu",
        "coral.stvz.io/zone": `z${i + 1}`,
      }),
    })
    yield* installCrds(kubeConfigOf(box.kube))
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

    const settings = { cluster, natsUrl: box.nats.url }
    const controlPlane = yield* startControlPlaneProcess(box.dir, {
      ...settings,
      kubeconfigPath: box.kube.kubeconfigPath,
      extraEnv: { CORAL_RESYNC_INTERVAL: "5s" },
    })
    const agents = []
    for (const node of box.nodes) {
      agents.push(
        yield* startNodeAgentProcess(box.dir, {
          ...settings,
          node: node.name,
          criSocket: node.containerd.socket,
          extraEnv: { CORAL_RECHECK_INTERVAL: "2s" },
        }),
      )
    }
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

const pullSecret = async () => {
  const { box, privateCredentials } = world()
  const auths = {
    [`http://${box.registries.private.host}`]: {
      auth: Buffer.from(`${privateCredentials.username}:${privateCredentials.password}`).toString("base64"),
    },
  }
  await core()
    .createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: "registry-credentials" },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
      },
    })
    .catch(() => undefined)
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
    for (const image of [single, multi, privateByDigest]) {
      expect(await holds("node-1", image), `node-1 ${image}`).toBe(true)
      expect(await holds("node-2", image), `node-2 ${image}`).toBe(true)
      expect(await holds("node-3", image), `node-3 ${image}`).toBe(false)
    }
  })
})
