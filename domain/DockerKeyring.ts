/**
 * Pull credentials from `kubernetes.io/dockerconfigjson` and `kubernetes.io/dockercfg` secrets,
 * matched to an image the way the kubelet's keyring does: an entry's key may carry a scheme
 * (`https://`), a `/v1/` or `/v2/` suffix, a path prefix, a port and `*` wildcards in host labels;
 * every matching entry is returned, most specific first, to be tried in order; Docker Hub images
 * fall back to the `index.docker.io` entry. Passwords stay `Redacted`.
 */
import { Redacted, Result } from "effect"
import { type ImageReference, repositoryOf } from "./ImageReference.ts"

export interface RegistryCredential {
  /** The keyring key that matched, e.g. `registry.example.com:5000/team`. */
  readonly registry: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface KeyringEntry {
  readonly key: string
  readonly credential: RegistryCredential
}

export const dockerConfigJsonType = "kubernetes.io/dockerconfigjson"
export const dockerCfgType = "kubernetes.io/dockercfg"

interface AuthEntry {
  readonly auth?: string
  readonly username?: string
  readonly password?: string
}

const fromBase64 = (value: string) => Buffer.from(value, "base64").toString("utf8")

const keyOf = (location: string): string => {
  const withScheme = /^https?:\/\//.test(location) ? location : `https://${location}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return location
  }
  let path = url.pathname
  if (path.startsWith("/v2/") || path.startsWith("/v1/")) path = path.slice(3)
  return path.length > 0 && path !== "/" ? `${url.host}${path}` : url.host
}

const credentialOf = (location: string, entry: AuthEntry): RegistryCredential | undefined => {
  let username = entry.username ?? ""
  let password = entry.password ?? ""
  if (entry.auth) {
    const decoded = fromBase64(entry.auth)
    const colon = decoded.indexOf(":")
    if (colon === -1) return undefined
    username = decoded.slice(0, colon)
    password = decoded.slice(colon + 1)
  }
  if (!username && !password) return undefined
  return { registry: keyOf(location), username, password: Redacted.make(password) }
}

/** Entries of one secret (`data` as stored: base64 values). The error says what is wrong, never the content. */
export const keyringFromSecret = (
  type: string | undefined,
  data: Readonly<Record<string, string>> | undefined,
): Result.Result<ReadonlyArray<KeyringEntry>, string> => {
  const field =
    type === dockerConfigJsonType ? ".dockerconfigjson" : type === dockerCfgType ? ".dockercfg" : undefined
  if (!field)
    return Result.fail(`type is ${type ?? "unset"}, expected ${dockerConfigJsonType} or ${dockerCfgType}`)
  const raw = data?.[field]
  if (!raw) return Result.fail(`it has no ${field} key`)
  let parsed: unknown
  try {
    parsed = JSON.parse(fromBase64(raw))
  } catch {
    return Result.fail(`its ${field} is not JSON`)
  }
  const auths = (field === ".dockerconfigjson" ? (parsed as { auths?: unknown } | null)?.auths : parsed) as
    | Record<string, AuthEntry>
    | undefined
  if (!auths || typeof auths !== "object") return Result.fail(`its ${field} has no auths`)
  return Result.succeed(
    Object.entries(auths).flatMap(([location, entry]) => {
      const credential = credentialOf(location, entry ?? {})
      return credential ? [{ key: credential.registry, credential }] : []
    }),
  )
}

const splitHost = (hostAndPort: string) => {
  const bracket = hostAndPort.lastIndexOf("]")
  const colon = hostAndPort.lastIndexOf(":")
  return colon > bracket
    ? { labels: hostAndPort.slice(0, colon).split("."), port: hostAndPort.slice(colon + 1) }
    : { labels: hostAndPort.split("."), port: "" }
}

const globMatches = (glob: string, value: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^.]*")}$`).test(value)

/** Whether keyring `key` (host[:port][/path]) covers `target` (host[:port]/repository). */
const keyMatches = (key: string, target: string): boolean => {
  const keySlash = key.indexOf("/")
  const targetSlash = target.indexOf("/")
  const keyHost = splitHost(keySlash === -1 ? key : key.slice(0, keySlash))
  const targetHost = splitHost(targetSlash === -1 ? target : target.slice(0, targetSlash))
  if (keyHost.port !== targetHost.port || keyHost.labels.length !== targetHost.labels.length) return false
  if (!keyHost.labels.every((label, i) => globMatches(label, targetHost.labels[i] ?? ""))) return false
  const keyPath = keySlash === -1 ? "" : key.slice(keySlash)
  const targetPath = targetSlash === -1 ? "" : target.slice(targetSlash)
  return targetPath.startsWith(keyPath)
}

const dockerHubKey = "index.docker.io"

/** Every credential of `keyring` that applies to `image`, in the order the kubelet tries them. */
export const credentialsFor = (
  image: ImageReference,
  keyring: ReadonlyArray<KeyringEntry>,
): ReadonlyArray<RegistryCredential> => {
  const target = repositoryOf(image)
  const keys = [...new Set(keyring.map((entry) => entry.key))].sort().reverse()
  const matched = keys
    .filter((key) => keyMatches(key, target))
    .flatMap((key) => keyring.filter((entry) => entry.key === key).map((entry) => entry.credential))
  if (matched.length > 0 || image.domain !== "docker.io") return matched
  return keyring.filter((entry) => entry.key === dockerHubKey).map((entry) => entry.credential)
}
