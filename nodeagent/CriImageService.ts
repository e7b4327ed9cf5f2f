/**
 * The node's container runtime, seen through the CRI `ImageService` over gRPC on its unix socket.
 *
 * Every call has a deadline (a pull's is chosen by the caller, since `PullImage` is one
 * request-response call with no progress and large images take long); every failure becomes one
 * `CriCallFailed` that names the operation, the image and the gRPC status. Credentials passed to
 * `pullImage` are `Redacted` and only unwrapped into the request itself.
 */
import { fileURLToPath } from "node:url"
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { Context, Data, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"

export class CriCallFailed extends Data.TaggedError("CriCallFailed")<{
  readonly operation: string
  readonly image?: string
  /** gRPC status name, such as `NOT_FOUND` or `DEADLINE_EXCEEDED`. */
  readonly code: string
  readonly details: string
}> {
  override get message() {
    return `CRI ${this.operation}${this.image ? ` of ${this.image}` : ""} failed (${this.code}): ${this.details}`
  }
}

export interface CriImage {
  readonly id: string
  readonly repoTags: ReadonlyArray<string>
  readonly repoDigests: ReadonlyArray<string>
  readonly size: number
}

export interface PullAuth {
  readonly username?: string
  readonly password?: Redacted.Redacted<string>
  /** base64 of `username:password`, as in a dockerconfigjson `auth` field. */
  readonly auth?: Redacted.Redacted<string>
  readonly identityToken?: Redacted.Redacted<string>
  readonly registryToken?: Redacted.Redacted<string>
  readonly serverAddress?: string
}

export interface CriImageServiceShape {
  /** Pulls `image`; returns the runtime's image id (`sha256:…` of the config). */
  readonly pullImage: (
    image: string,
    options: { readonly auth?: PullAuth; readonly timeout: Duration.Input },
  ) => Effect.Effect<string, CriCallFailed>
  readonly imageStatus: (image: string) => Effect.Effect<Option.Option<CriImage>, CriCallFailed>
  readonly listImages: Effect.Effect<ReadonlyArray<CriImage>, CriCallFailed>
  /** Removes `image`; removing an absent image succeeds (the CRI makes this call idempotent). */
  readonly removeImage: (image: string) => Effect.Effect<void, CriCallFailed>
  /** Bytes used by the runtime's image filesystem. */
  readonly imageFsUsedBytes: Effect.Effect<number, CriCallFailed>
}

export class CriImageService extends Context.Service<CriImageService, CriImageServiceShape>()(
  "coral/nodeagent/CriImageService",
) {}

const protoFile = fileURLToPath(new URL("./cri/image_service.proto", import.meta.url))
const callTimeout = Duration.seconds(30)

interface RawImage {
  readonly id: string
  readonly repoTags: Array<string>
  readonly repoDigests: Array<string>
  readonly size: string
}

type Call = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => void

const loadClientConstructor = () => {
  const definition = protoLoader.loadSync(protoFile, { longs: String, defaults: true, keepCase: false })
  const runtime = grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject
  const v1 = runtime.v1 as grpc.GrpcObject
  return v1.ImageService as grpc.ServiceClientConstructor
}

const toImage = (raw: RawImage): CriImage => ({
  id: raw.id,
  repoTags: raw.repoTags,
  repoDigests: raw.repoDigests,
  size: Number(raw.size),
})

const unwrap = (value: Redacted.Redacted<string> | undefined) =>
  value === undefined ? "" : Redacted.value(value)

/** A client for the CRI socket at `socketPath`, closed with the scope. */
export const makeCriImageService = (
  socketPath: string,
): Effect.Effect<CriImageServiceShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const Client = loadClientConstructor()
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new Client(`unix://${socketPath}`, grpc.credentials.createInsecure())),
      (c) => Effect.sync(() => c.close()),
    )

    const call = <A>(
      method: string,
      request: unknown,
      context: { readonly operation: string; readonly image?: string; readonly timeout?: Duration.Input },
    ) =>
      Effect.callback<A, CriCallFailed>((resume) => {
        const deadline = new Date(
          Date.now() + Duration.toMillis(Duration.fromInputUnsafe(context.timeout ?? callTimeout)),
        )
        const fn = (client[method] as Call).bind(client)
        const pending = fn(request, new grpc.Metadata(), { deadline }, (error, response) => {
          if (error) {
            resume(
              Effect.fail(
                new CriCallFailed({
                  operation: context.operation,
                  ...(context.image ? { image: context.image } : {}),
                  code: grpc.status[error.code] ?? String(error.code),
                  details: error.details || error.message,
                }),
              ),
            )
          } else {
            resume(Effect.succeed(response as A))
          }
        })
        return Effect.sync(() => (pending as unknown as grpc.ClientUnaryCall | undefined)?.cancel?.())
      })

    return {
      pullImage: (image, options) =>
        call<{ imageRef: string }>(
          "PullImage",
          {
            image: { image },
            ...(options.auth
              ? {
                  auth: {
                    username: options.auth.username ?? "",
                    password: unwrap(options.auth.password),
                    auth: unwrap(options.auth.auth),
                    identityToken: unwrap(options.auth.identityToken),
                    registryToken: unwrap(options.auth.registryToken),
                    serverAddress: options.auth.serverAddress ?? "",
                  },
                }
              : {}),
          },
          { operation: "PullImage", image, timeout: options.timeout },
        ).pipe(Effect.map((response) => response.imageRef)),
      imageStatus: (image) =>
        call<{ image: RawImage | null }>(
          "ImageStatus",
          { image: { image } },
          { operation: "ImageStatus", image },
        ).pipe(Effect.map((response) => Option.map(Option.fromNullishOr(response.image), toImage))),
      listImages: call<{ images: Array<RawImage> }>("ListImages", {}, { operation: "ListImages" }).pipe(
        Effect.map((response) => response.images.map(toImage)),
      ),
      removeImage: (image) =>
        call<unknown>("RemoveImage", { image: { image } }, { operation: "RemoveImage", image }).pipe(
          Effect.asVoid,
        ),
      imageFsUsedBytes: call<{ imageFilesystems: Array<{ usedBytes: { value: string } | null }> }>(
        "ImageFsInfo",
        {},
        { operation: "ImageFsInfo" },
      ).pipe(
        Effect.map((response) =>
          response.imageFilesystems.reduce((sum, fs) => sum + Number(fs.usedBytes?.value ?? 0), 0),
        ),
      ),
    } satisfies CriImageServiceShape
  })

/** The live layer: the CRI socket of this node's runtime. */
export const layer = (socketPath: string) => Layer.effect(CriImageService, makeCriImageService(socketPath))
