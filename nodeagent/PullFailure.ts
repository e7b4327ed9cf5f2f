/**
 * Why a pull failed, as a short CamelCase reason an operator can act on, from the container
 * runtime's error (the CRI gives only a gRPC code and free text, so the text is matched).
 */
import type { CriCallFailed } from "./CriImageService.ts"

export type PullFailureReason =
  | "Unauthorized"
  | "ImageNotFound"
  | "Timeout"
  | "RegistryUnavailable"
  | "PullFailed"

export const classifyPullFailure = (error: Pick<CriCallFailed, "code" | "details">): PullFailureReason => {
  const text = error.details.toLowerCase()
  if (error.code === "DEADLINE_EXCEEDED" || text.includes("context deadline exceeded")) return "Timeout"
  if (
    /401 unauthorized|403 forbidden|unauthorized|authorization failed|authentication required|denied/.test(
      text,
    )
  ) {
    return "Unauthorized"
  }
  if (/not found|404|manifest unknown|name unknown/.test(text)) return "ImageNotFound"
  if (/connection refused|no such host|dial tcp|i\/o timeout|connection reset|eof|503|502/.test(text)) {
    return "RegistryUnavailable"
  }
  return "PullFailed"
}
