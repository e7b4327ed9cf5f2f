/**
 * Coral's own OCI distribution client (the registry HTTP API, distribution-spec v1.1), push side:
 * blobs by monolithic upload (skipped when the registry already has them) and manifests by tag or
 * digest. Basic credentials are sent on every request; they are `Redacted` and never part of an
 * error. Every failure is a `RegistryRequestFailed` naming the registry, repository and what was
 * being done.
 */
import { Data, Effect, Redacted } from "effect"

export class RegistryRequestFailed extends Data.TaggedError("RegistryRequestFailed")<{
  readonly registry: string
  readonly repository: string
  readonly operation: string
  readonly status?: number
  readonly details: string
}> {
  override get message() {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `${this.operation} on ${this.registry}/${this.repository} failed${status}: ${this.details}`
  }
}

export interface RegistryEndpoint {
  /** `host[:port]` as in image references. */
  readonly host: string
  /** Plain HTTP instead of HTTPS (local registries). */
  readonly insecure?: boolean
  readonly username?: string
  readonly password?: Redacted.Redacted<string>
}

export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

const baseUrl = (endpoint: RegistryEndpoint) => `${endpoint.insecure ? "http" : "https"}://${endpoint.host}`

const authHeader = (endpoint: RegistryEndpoint): Record<string, string> =>
  endpoint.username !== undefined && endpoint.password !== undefined
    ? {
        authorization: `Basic ${Buffer.from(`${endpoint.username}:${Redacted.value(endpoint.password)}`).toString("base64")}`,
      }
    : {}

const request = (
  endpoint: RegistryEndpoint,
  repository: string,
  operation: string,
  url: string,
  init: RequestInit,
  ok: ReadonlyArray<number>,
) =>
  Effect.tryPromise({
    try: (signal) =>
      fetch(url.startsWith("http") ? url : `${baseUrl(endpoint)}${url}`, {
        ...init,
        headers: { ...authHeader(endpoint), ...(init.headers as Record<string, string> | undefined) },
        signal,
      }),
    catch: (cause) =>
      new RegistryRequestFailed({
        registry: endpoint.host,
        repository,
        operation,
        details:
          cause instanceof Error
            ? cause.cause instanceof Error
              ? cause.cause.message
              : cause.message
            : String(cause),
      }),
  }).pipe(
    Effect.flatMap((response) =>
      ok.includes(response.status)
        ? Effect.succeed(response)
        : Effect.promise(() => response.text()).pipe(
            Effect.flatMap((body) =>
              Effect.fail(
                new RegistryRequestFailed({
                  registry: endpoint.host,
                  repository,
                  operation,
                  status: response.status,
                  details: body.slice(0, 500) || response.statusText,
                }),
              ),
            ),
          ),
    ),
  )

export const blobExists = (endpoint: RegistryEndpoint, repository: string, digest: string) =>
  request(
    endpoint,
    repository,
    `HEAD blob ${digest}`,
    `/v2/${repository}/blobs/${digest}`,
    { method: "HEAD" },
    [200, 404],
  ).pipe(Effect.map((response) => response.status === 200))

/** Uploads `content` as the blob `digest`, unless the repository already has it. */
export const pushBlob = (
  endpoint: RegistryEndpoint,
  repository: string,
  digest: string,
  content: Uint8Array,
) =>
  Effect.gen(function* () {
    if (yield* blobExists(endpoint, repository, digest)) return
    const operation = `upload blob ${digest}`
    const started = yield* request(
      endpoint,
      repository,
      operation,
      `/v2/${repository}/blobs/uploads/`,
      { method: "POST" },
      [202],
    )
    const location = started.headers.get("location")
    if (!location) {
      return yield* new RegistryRequestFailed({
        registry: endpoint.host,
        repository,
        operation,
        details: "the registry started an upload without a Location header",
      })
    }
    const url = new URL(location, baseUrl(endpoint))
    url.searchParams.set("digest", digest)
    yield* request(
      endpoint,
      repository,
      operation,
      url.toString(),
      {
        method: "PUT",
        body: content,
        headers: { "content-type": "application/octet-stream", "content-length": String(content.byteLength) },
      },
      [201],
    )
  })

/** Puts a manifest (or index) under `reference` (a tag or digest); returns the digest the registry reports. */
export const pushManifest = (
  endpoint: RegistryEndpoint,
  repository: string,
  reference: string,
  mediaType: string,
  content: Uint8Array,
) =>
  request(
    endpoint,
    repository,
    `put manifest ${reference}`,
    `/v2/${repository}/manifests/${reference}`,
    { method: "PUT", body: content, headers: { "content-type": mediaType } },
    [201],
  ).pipe(Effect.map((response) => response.headers.get("docker-content-digest") ?? ""))
