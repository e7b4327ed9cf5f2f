/**
 * Builds small OCI images in code and pushes them to a registry with Coral's own distribution
 * client: one layer of a chosen size (random bytes, so it does not compress and no two images share
 * a layer), a valid config whose `diff_ids` match (containerd checks them when it unpacks), and
 * either a single-platform manifest or a multi-platform index.
 */
import { createHash, randomBytes } from "node:crypto"
import { gzipSync } from "node:zlib"
import { Effect } from "effect"
import {
  type Descriptor,
  pushBlob,
  pushManifest,
  type RegistryEndpoint,
  type RegistryRequestFailed,
} from "../../mirrorer/RegistryClient.ts"

export const mediaTypes = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const

export interface Platform {
  readonly os: string
  readonly architecture: string
}

export interface ImageSpec {
  readonly repository: string
  readonly tag: string
  /** Size of the file in the image's single layer, in bytes. */
  readonly layerBytes: number
  /** One entry: a plain manifest. Several: an index with one manifest per platform. */
  readonly platforms?: ReadonlyArray<Platform>
}

export interface PushedImage {
  /** `host/repository:tag` */
  readonly reference: string
  /** Digest of the top-level manifest or index (what `@sha256:…` references pin). */
  readonly digest: string
  readonly mediaType: string
}

interface Blob {
  readonly descriptor: Descriptor
  readonly content: Uint8Array
}

const sha256 = (content: Uint8Array) => `sha256:${createHash("sha256").update(content).digest("hex")}`

const blob = (mediaType: string, content: Uint8Array): Blob => ({
  descriptor: { mediaType, digest: sha256(content), size: content.byteLength },
  content,
})

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, "0")}\0`

/** A ustar archive holding one regular file. */
export const tarOneFile = (name: string, content: Uint8Array): Uint8Array => {
  const header = Buffer.alloc(512)
  header.write(name, 0, 100, "utf8")
  header.write(octal(0o644, 8), 100)
  header.write(octal(0, 8), 108)
  header.write(octal(0, 8), 116)
  header.write(octal(content.byteLength, 12), 124)
  header.write(octal(0, 12), 136)
  header.write("        ", 148)
  header.write("0", 156)
  header.write("ustar\0", 257)
  header.write("00", 263)
  let checksum = 0
  for (const byte of header) checksum += byte
  header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148)
  const padding = (512 - (content.byteLength % 512)) % 512
  // Two zero blocks end the archive.
  return Buffer.concat([header, content, Buffer.alloc(padding), Buffer.alloc(1024)])
}

const platformManifest = (spec: ImageSpec, platform: Platform) => {
  const tar = tarOneFile(`coral/${spec.repository.replaceAll("/", "_")}.bin`, randomBytes(spec.layerBytes))
  const layer = blob(mediaTypes.layer, gzipSync(tar, { level: 1 }))
  const config = blob(
    mediaTypes.config,
    json({
      architecture: platform.architecture,
      os: platform.os,
      config: { Entrypoint: ["/coral"] },
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    }),
  )
  const manifest = blob(
    mediaTypes.manifest,
    json({
      schemaVersion: 2,
      mediaType: mediaTypes.manifest,
      config: config.descriptor,
      layers: [layer.descriptor],
    }),
  )
  return { blobs: [layer, config], manifest }
}

const hostPlatform: Platform = { os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch }

/** Builds the image described by `spec` and pushes it to `endpoint`. */
export const pushTestImage = (
  endpoint: RegistryEndpoint,
  spec: ImageSpec,
): Effect.Effect<PushedImage, RegistryRequestFailed> =>
  Effect.gen(function* () {
    const platforms = spec.platforms ?? [hostPlatform]
    const built = platforms.map((platform) => ({ platform, ...platformManifest(spec, platform) }))
    for (const { blobs, manifest } of built) {
      for (const b of blobs) yield* pushBlob(endpoint, spec.repository, b.descriptor.digest, b.content)
      if (built.length > 1) {
        yield* pushManifest(
          endpoint,
          spec.repository,
          manifest.descriptor.digest,
          mediaTypes.manifest,
          manifest.content,
        )
      }
    }
    const [single] = built
    const top =
      built.length === 1 && single
        ? single.manifest
        : blob(
            mediaTypes.index,
            json({
              schemaVersion: 2,
              mediaType: mediaTypes.index,
              manifests: built.map(({ platform, manifest }) => ({ ...manifest.descriptor, platform })),
            }),
          )
    yield* pushManifest(endpoint, spec.repository, spec.tag, top.descriptor.mediaType, top.content)
    return {
      reference: `${endpoint.host}/${spec.repository}:${spec.tag}`,
      digest: top.descriptor.digest,
      mediaType: top.descriptor.mediaType,
    }
  })
