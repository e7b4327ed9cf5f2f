/**
 * The demo's scenario: Coral's main job on the cluster-in-a-box. It reads `examples/imagesync.yaml`,
 * seeds the local registries with images at the example's repository paths (there is no network
 * here, so each external registry is stood in for by a local one: Docker Hub and ghcr.io by the
 * anonymous registry, `registry.example.com` by the one with basic auth), creates the example's
 * pull secret, applies the ImageSync with its references pointed at those stand-ins, and reports
 * progress until the status says Ready — or says what is not.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node"
import { Duration, Effect, Redacted, Result } from "effect"
import { parse } from "yaml"
import { parseImageReference } from "../../domain/ImageReference.ts"
import type { ImageSyncStatus } from "../../domain/ImageSync.ts"
import { kubeRequest } from "../../k8s/KubeRequest.ts"
import { group, version } from "../crd/definitions.ts"
import { kubeConfigOf, type LocalCluster } from "./LocalCluster.ts"
import { pushTestImage } from "./OciImages.ts"
import { createPullSecret } from "./PullSecrets.ts"

interface ImageSyncExample {
  readonly metadata: { readonly name: string; readonly namespace: string }
  readonly spec: {
    readonly images: ReadonlyArray<string>
    readonly imagePullSecrets?: ReadonlyArray<{ name: string }>
  }
}

const exampleFile = fileURLToPath(new URL("../../examples/imagesync.yaml", import.meta.url))

/** Which local registry stands in for an example's registry. */
const standIn = (box: LocalCluster, domain: string) =>
  domain === "registry.example.com" ? box.registries.private : box.registries.public

export const runDemoScenario = (box: LocalCluster, say: (line: string) => void, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const example = parse(readFileSync(exampleFile, "utf8")) as ImageSyncExample
    const { name, namespace } = example.metadata
    const images: Array<string> = []
    for (const image of example.spec.images) {
      const reference = Result.getOrThrow(parseImageReference(image))
      const registry = standIn(box, reference.domain)
      const endpoint = {
        host: registry.host,
        insecure: true,
        ...(registry.credentials
          ? { username: registry.credentials.username, password: registry.credentials.password }
          : {}),
      }
      const pushed = yield* pushTestImage(endpoint, {
        repository: reference.path,
        tag: reference.tag ?? "latest",
        layerBytes: 4 * 1024 * 1024,
        ...(image.includes("frontend")
          ? {
              platforms: [
                { os: "linux", architecture: "amd64" },
                { os: "linux", architecture: "arm64" },
              ],
            }
          : {}),
      })
      say(`seeded ${image} as ${pushed.reference}${registry.credentials ? " (behind basic auth)" : ""}`)
      images.push(pushed.reference)
    }

    const kubeConfig = kubeConfigOf(box.kube)
    const core = kubeConfig.makeApiClient(CoreV1Api)
    const credentials = box.registries.private.credentials
    for (const secret of example.spec.imagePullSecrets ?? []) {
      if (!credentials) continue
      yield* createPullSecret(core, {
        namespace,
        name: secret.name,
        auths: {
          [box.registries.private.host]: {
            username: credentials.username,
            password: Redacted.value(credentials.password),
          },
        },
      })
      say(`created pull secret ${namespace}/${secret.name} (kubernetes.io/dockerconfigjson)`)
    }

    const custom = kubeConfig.makeApiClient(CustomObjectsApi)
    yield* kubeRequest(`create ImageSync ${name}`, () =>
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "imagesyncs",
        body: { ...example, spec: { ...example.spec, images } },
      }),
    )
    say(`applied examples/imagesync.yaml as ImageSync ${namespace}/${name}`)

    const started = Date.now()
    let last = ""
    for (;;) {
      const object = (yield* kubeRequest(`read ImageSync ${name}`, () =>
        custom.getNamespacedCustomObject({ group, version, namespace, plural: "imagesyncs", name }),
      )) as { status?: ImageSyncStatus }
      const status = object.status
      const ready = status?.conditions?.find((c) => c.type === "Ready")
      const line = `${name}: ${status?.readyNodes ?? 0}/${status?.desiredNodes ?? "?"} nodes ready, ${status?.pullingNodes ?? 0} pulling, ${status?.failedNodes ?? 0} failing`
      if (line !== last) say(line)
      last = line
      if (ready?.status === "True") return { name, namespace, status, seconds: (Date.now() - started) / 1000 }
      if (Date.now() - started > Duration.toMillis(timeout)) {
        const degraded = status?.conditions?.find((c) => c.type === "Degraded")
        return yield* Effect.fail(
          new Error(
            `${name} is not Ready after ${Duration.format(timeout)}: ${degraded?.message ?? ready?.message ?? "no status"}`,
          ),
        )
      }
      yield* Effect.sleep(Duration.millis(250))
    }
  })
