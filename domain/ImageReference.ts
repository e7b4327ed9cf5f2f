/**
 * Container image references, parsed and normalised exactly once, the way the container ecosystem
 * does it (the distribution reference grammar and Docker's normalisation, which the kubelet and
 * containerd use): Docker Hub short names become `docker.io/library/…`, `index.docker.io` is an
 * alias of `docker.io`, a reference with neither tag nor digest gets `latest`, and a reference with
 * both keeps both (the digest decides what is pulled).
 *
 * Every comparison in Coral — resource spec, planner, the agent's comparison with CRI `RepoTags` /
 * `RepoDigests`, webhook, mirror — goes through `parseImageReference` and compares the canonical
 * form, so the same image never looks like two. The grammar's pieces are also exported as one
 * RE2-compatible pattern, which the CRDs use, so the API server and the parser accept the same set.
 */
import { Data, Result } from "effect"

export class InvalidImageReference extends Data.TaggedError("InvalidImageReference")<{
  readonly input: string
  readonly reason: string
}> {
  override get message() {
    return `invalid image reference "${this.input}": ${this.reason}`
  }
}

export interface ImageReference {
  /** Registry host with optional port, normalised (`docker.io` for Docker Hub). */
  readonly domain: string
  /** Repository path inside the registry (`library/nginx`). */
  readonly path: string
  readonly tag?: string
  /** `algorithm:hex`, e.g. `sha256:…`. */
  readonly digest?: string
}

// The distribution reference grammar, piece by piece (RE2- and ECMAScript-compatible).
const alphanumeric = "[a-z0-9]+"
const separator = "(?:[._]|__|[-]+)"
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
const ipv6 = "\\[(?:[a-fA-F0-9:]+)\\]"
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})`
const domain = `${host}(?::[0-9]+)?`
const tag = "[\\w][\\w.-]{0,127}"
const digestAlgorithm = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*"
const digest = `${digestAlgorithm}:[0-9a-fA-F]{32,}`

/** The whole grammar as one anchored pattern (what the CRDs validate image fields with). */
export const imageReferencePattern = `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::${tag})?(?:@${digest})?$`

const anchored = (pattern: string) => new RegExp(`^${pattern}$`)
const domainRe = anchored(domain)
const pathRe = anchored(`${pathComponent}(?:/${pathComponent})*`)
const tagRe = anchored(tag)
const digestRe = anchored(digest)
const hex64Re = /^[a-f0-9]{64}$/

export const dockerHub = "docker.io"
const dockerHubAlias = "index.docker.io"
const maxPathLength = 255
/** The digest algorithms the kubelet and containerd accept, with their hex lengths. */
const digestLengths: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 }

const fail = (input: string, reason: string) => Result.fail(new InvalidImageReference({ input, reason }))

/**
 * Splits `name` into domain and path as the reference grammar does: the first part is a domain
 * only if it looks like one (a dot, a colon, `localhost`, or capitals) and is a valid host; a first
 * part such as `foo_bar.com` is a path component of a Docker Hub repository instead.
 */
const splitDomain = (name: string): { readonly domain: string; readonly path: string } => {
  const slash = name.indexOf("/")
  const first = slash === -1 ? "" : name.slice(0, slash)
  const looksLikeDomain =
    slash !== -1 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first)
  if (!looksLikeDomain || (!domainRe.test(first) && pathRe.test(name)))
    return { domain: dockerHub, path: name }
  return { domain: first, path: name.slice(slash + 1) }
}

const checkDigest = (input: string, value: string) => {
  if (!digestRe.test(value))
    return fail(input, `"${value}" is not a digest (expected algorithm:hex, such as sha256:<64 hex>)`)
  const [algorithm = "", hex = ""] = value.split(":")
  const expected = digestLengths[algorithm]
  if (expected === undefined) {
    return fail(input, `"${algorithm}" is not a supported digest algorithm (sha256, sha384 or sha512)`)
  }
  if (hex.length !== expected) {
    return fail(input, `a ${algorithm} digest has ${expected} hex characters, this one has ${hex.length}`)
  }
  if (hex !== hex.toLowerCase()) return fail(input, "digest hex must be lowercase")
  return Result.succeed(value)
}

/** Parses and normalises `input`; the error says what is wrong. */
export const parseImageReference = (input: string): Result.Result<ImageReference, InvalidImageReference> => {
  if (input.length === 0) return fail(input, "it is empty")
  if (input.trim() !== input) return fail(input, "it has leading or trailing whitespace")
  if (hex64Re.test(input))
    return fail(input, "a bare 64-character hex string is an image id, not a reference")

  const at = input.indexOf("@")
  const nameAndTag = at === -1 ? input : input.slice(0, at)
  const digestPart = at === -1 ? undefined : input.slice(at + 1)
  if (digestPart !== undefined) {
    const checked = checkDigest(input, digestPart)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
  }

  // A tag follows the last colon, unless that colon belongs to the domain's port (`host:5000/repo`).
  const lastColon = nameAndTag.lastIndexOf(":")
  const hasTag = lastColon > nameAndTag.lastIndexOf("/")
  const name = hasTag ? nameAndTag.slice(0, lastColon) : nameAndTag
  const tagPart = hasTag ? nameAndTag.slice(lastColon + 1) : undefined
  if (tagPart !== undefined && !tagRe.test(tagPart)) {
    return fail(
      input,
      `"${tagPart}" is not a tag (letters, digits, _ . - up to 128, not starting with . or -)`,
    )
  }
  if (name.length === 0) return fail(input, "the repository name is missing")

  const split = splitDomain(name)
  if (!domainRe.test(split.domain)) return fail(input, `"${split.domain}" is not a registry host[:port]`)
  if (split.path.toLowerCase() !== split.path) return fail(input, "the repository path must be lowercase")
  if (!pathRe.test(split.path)) {
    return fail(
      input,
      `"${split.path}" is not a repository path (lowercase letters and digits, separated by . _ __ - or /)`,
    )
  }

  const isDockerHub = split.domain === dockerHub || split.domain === dockerHubAlias
  const path = isDockerHub && !split.path.includes("/") ? `library/${split.path}` : split.path
  if (path.length > maxPathLength) {
    return fail(input, `the repository path is ${path.length} characters long, the limit is ${maxPathLength}`)
  }
  const tagOrDefault = tagPart ?? (digestPart === undefined ? "latest" : undefined)
  return Result.succeed({
    domain: isDockerHub ? dockerHub : split.domain,
    path,
    ...(tagOrDefault === undefined ? {} : { tag: tagOrDefault }),
    ...(digestPart === undefined ? {} : { digest: digestPart }),
  })
}

/** `domain/path` — the repository, without tag or digest. */
export const repositoryOf = (reference: ImageReference): string => `${reference.domain}/${reference.path}`

/** The canonical string: `domain/path[:tag][@digest]`. */
export const formatImageReference = (reference: ImageReference): string =>
  `${repositoryOf(reference)}${reference.tag === undefined ? "" : `:${reference.tag}`}${
    reference.digest === undefined ? "" : `@${reference.digest}`
  }`

/** Canonical form of `input`, or the parse error. */
export const normaliseImageReference = (input: string): Result.Result<string, InvalidImageReference> =>
  Result.map(parseImageReference(input), formatImageReference)

/**
 * Whether the runtime's view of an image (its `RepoTags` and `RepoDigests`, in any spelling) holds
 * `wanted`: by digest when the reference pins one, otherwise by tag.
 */
export const runtimeHolds = (
  wanted: ImageReference,
  runtime: { readonly repoTags: ReadonlyArray<string>; readonly repoDigests: ReadonlyArray<string> },
): boolean => {
  const parsed = (values: ReadonlyArray<string>) =>
    values.flatMap((value) => {
      const result = parseImageReference(value)
      return Result.isSuccess(result) ? [result.success] : []
    })
  const repository = repositoryOf(wanted)
  if (wanted.digest !== undefined) {
    return parsed(runtime.repoDigests).some(
      (r) => repositoryOf(r) === repository && r.digest === wanted.digest,
    )
  }
  return parsed(runtime.repoTags).some((r) => repositoryOf(r) === repository && r.tag === wanted.tag)
}
