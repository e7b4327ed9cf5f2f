/**
 * Smoke: a real containerd answers the CRI ImageService over gRPC. Images built in code and pushed
 * to the harness' registries are pulled with `PullImage` and found with `ImageStatus` and
 * `ListImages` — a single-platform image, a multi-platform index, and an image behind basic auth
 * pulled with the credentials in the CRI `AuthConfig` (and refused without them).
 */
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { Effect, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { startContainerd } from "../../infra/local/Containerd.ts"
import { pushTestImage } from "../../infra/local/OciImages.ts"
import { makeCriImageService } from "../../nodeagent/CriImageService.ts"
import { privateRegistry, publicRegistry, scopedResource, servers } from "../support/sharedServers.ts"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

describe("containerd CRI smoke", () => {
  const cri = scopedResource(
    Effect.gen(function* () {
      const name = `cri-smoke-${randomUUID().slice(0, 6)}`
      const { registries } = servers()
      const containerd = yield* startContainerd(servers().binaries, join(servers().dir, name), {
        name,
        registryHosts: [registries.public.host, registries.private.host],
      })
      return yield* makeCriImageService(containerd.socket)
    }),
  )
  const timeout = "60 seconds"

  it("pulls a single-platform image and finds it by ImageStatus and ListImages", async () => {
    const image = await run(
      pushTestImage(publicRegistry(), { repository: "smoke/single", tag: "v1", layerBytes: 64 * 1024 }),
    )
    const imageId = await run(cri().pullImage(image.reference, { timeout }))
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/)

    const status = await run(cri().imageStatus(image.reference))
    expect(Option.isSome(status)).toBe(true)
    const found = Option.getOrThrow(status)
    expect(found.id).toBe(imageId)
    expect(found.repoTags).toContain(image.reference)
    expect(found.repoDigests).toContain(`${image.reference.replace(/:v1$/, "")}@${image.digest}`)
    expect(found.size).toBeGreaterThan(64 * 1024)

    const listed = await run(cri().listImages)
    expect(listed.map((i) => i.id)).toContain(imageId)
  })

  it("pulls the host's platform out of a multi-platform index", async () => {
    const image = await run(
      pushTestImage(publicRegistry(), {
        repository: "smoke/multi",
        tag: "v1",
        layerBytes: 32 * 1024,
        platforms: [
          { os: "linux", architecture: "amd64" },
          { os: "linux", architecture: "arm64" },
        ],
      }),
    )
    expect(image.mediaType).toBe("application/vnd.oci.image.index.v1+json")
    await run(cri().pullImage(image.reference, { timeout }))
    const found = Option.getOrThrow(await run(cri().imageStatus(image.reference)))
    // The runtime records the index digest the reference resolved to.
    expect(found.repoDigests).toContain(`${image.reference.replace(/:v1$/, "")}@${image.digest}`)
  })

  it("pulls from a registry behind basic auth with AuthConfig, and is refused without it", async () => {
    const registry = privateRegistry()
    const image = await run(
      pushTestImage(registry, { repository: "smoke/private", tag: "v1", layerBytes: 16 * 1024 }),
    )
    const byDigest = `${image.reference.replace(/:v1$/, "")}@${image.digest}`

    const refused = await run(Effect.flip(cri().pullImage(byDigest, { timeout })))
    expect(refused.code).toBe("UNKNOWN")
    expect(refused.details).toMatch(/401 Unauthorized|unauthorized|authorization failed/i)

    const wrong = await run(
      Effect.flip(
        cri().pullImage(byDigest, {
          timeout,
          auth: { username: registry.username ?? "", password: Redacted.make("not-the-password") },
        }),
      ),
    )
    expect(wrong.details).toMatch(/401 Unauthorized|unauthorized|authorization failed/i)

    const auth = {
      username: registry.username ?? "",
      ...(registry.password ? { password: registry.password } : {}),
    }
    await run(cri().pullImage(byDigest, { timeout, auth }))
    const found = Option.getOrThrow(await run(cri().imageStatus(byDigest)))
    expect(found.repoDigests).toContain(byDigest)
  })
})
