/**
 * The one place where `@kubernetes/client-node` promises become Effects: every failure turns into a
 * `KubeRequestFailed` that carries the operation, the HTTP status and the API server's own message
 * (the `Status` object's `message`, which names the field for validation errors).
 */
import { ApiException } from "@kubernetes/client-node"
import { Data, Effect } from "effect"

export class KubeRequestFailed extends Data.TaggedError("KubeRequestFailed")<{
  readonly operation: string
  /** HTTP status, when the API server answered. */
  readonly status?: number
  /** The API server's message, or the transport error's. */
  readonly details: string
  /** The `Status.reason`, such as `Invalid`, `AlreadyExists`, `Conflict`. */
  readonly reason?: string
}> {
  override get message() {
    return `${this.operation} failed${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${this.details}`
  }
}

const fromApiStatus = (body: unknown): { readonly message?: string; readonly reason?: string } => {
  const parsed = typeof body === "string" ? safeJson(body) : body
  if (parsed && typeof parsed === "object") {
    const { message, reason } = parsed as { message?: unknown; reason?: unknown }
    return {
      ...(typeof message === "string" ? { message } : {}),
      ...(typeof reason === "string" ? { reason } : {}),
    }
  }
  return {}
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const toKubeRequestFailed = (operation: string, cause: unknown): KubeRequestFailed => {
  if (cause instanceof ApiException) {
    const status = fromApiStatus(cause.body)
    return new KubeRequestFailed({
      operation,
      status: cause.code,
      details: status.message ?? cause.message,
      ...(status.reason ? { reason: status.reason } : {}),
    })
  }
  return new KubeRequestFailed({ operation, details: cause instanceof Error ? cause.message : String(cause) })
}

/** Runs one API call; `operation` names it in the error ("create Node node-1"). */
export const kubeRequest = <A>(
  operation: string,
  call: () => Promise<A>,
): Effect.Effect<A, KubeRequestFailed> =>
  Effect.tryPromise({ try: call, catch: (cause) => toKubeRequestFailed(operation, cause) })
