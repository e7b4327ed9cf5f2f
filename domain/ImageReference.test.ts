import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  formatImageReference,
  imageReferencePattern,
  normaliseImageReference,
  parseImageReference,
  runtimeHolds,
} from "./ImageReference.ts"

const hex64 = "a".repeat(64)
const hex128 = "b".repeat(128)

// [input, canonical form]
const valid: ReadonlyArray<readonly [string, string]> = [
  ["nginx", "docker.io/library/nginx:latest"],
  ["nginx:1.27", "docker.io/library/nginx:1.27"],
  ["library/nginx", "docker.io/library/nginx:latest"],
  ["docker.io/nginx", "docker.io/library/nginx:latest"],
  ["docker.io/library/nginx:latest", "docker.io/library/nginx:latest"],
  ["index.docker.io/nginx", "docker.io/library/nginx:latest"],
  ["index.docker.io/library/nginx:1", "docker.io/library/nginx:1"],
  ["registry-1.docker.io/bitnami/redis:7", "registry-1.docker.io/bitnami/redis:7"],
  ["foo_bar.com/app:1", "docker.io/foo_bar.com/app:1"],
  [`app@sha384:${"d".repeat(96)}`, `docker.io/library/app@sha384:${"d".repeat(96)}`],
  [`registry.example.com/${"p".repeat(250)}`, `registry.example.com/${"p".repeat(250)}:latest`],
  ["bitnami/redis", "docker.io/bitnami/redis:latest"],
  ["ghcr.io/org/team/app:v1.2.3", "ghcr.io/org/team/app:v1.2.3"],
  ["quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"],
  ["localhost/app", "localhost/app:latest"],
  ["localhost:5000/app:dev", "localhost:5000/app:dev"],
  ["127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"],
  ["[::1]:5000/app:1", "[::1]:5000/app:1"],
  ["[fe80::1]/app", "[fe80::1]/app:latest"],
  ["Registry.Example.COM/app", "Registry.Example.COM/app:latest"],
  ["example.com:443/a/b/c/d:tag_with.dots-and-dashes", "example.com:443/a/b/c/d:tag_with.dots-and-dashes"],
  [`nginx@sha256:${hex64}`, `docker.io/library/nginx@sha256:${hex64}`],
  [`nginx:1.27@sha256:${hex64}`, `docker.io/library/nginx:1.27@sha256:${hex64}`],
  [`ghcr.io/org/app@sha512:${hex128}`, `ghcr.io/org/app@sha512:${hex128}`],
  [`localhost:5000/app:1@sha256:${hex64}`, `localhost:5000/app:1@sha256:${hex64}`],
  ["my_repo/my__app", "docker.io/my_repo/my__app:latest"],
  ["a/b-c/d---e", "docker.io/a/b-c/d---e:latest"],
  ["app:V1_RC", "docker.io/library/app:V1_RC"],
  ["app:_", "docker.io/library/app:_"],
  ["Foo/bar", "Foo/bar:latest"],
]

// [input, part of the error]
const invalid: ReadonlyArray<readonly [string, string]> = [
  ["", "empty"],
  [" nginx", "whitespace"],
  ["nginx ", "whitespace"],
  [hex64, "image id"],
  ["NGINX", "lowercase"],
  ["docker.io/Library/nginx", "lowercase"],
  ["nginx:", "not a tag"],
  ["nginx:-bad", "not a tag"],
  ["nginx:.bad", "not a tag"],
  [`nginx:${"t".repeat(129)}`, "not a tag"],
  [`nginx@sha256:${"a".repeat(40)}`, "64 hex characters"],
  ["nginx@sha256:abc", "not a digest"],
  [`nginx@sha256:${"A".repeat(64)}`, "lowercase"],
  [`nginx@sha512:${hex64}`, "128 hex characters"],
  ["nginx@", "not a digest"],
  ["nginx@latest", "not a digest"],
  [`nginx@sha256${hex64}`, "not a digest"],
  ["/nginx", "not a repository path"],
  ["nginx/", "not a repository path"],
  ["a//b", "not a repository path"],
  ["a/-b", "not a repository path"],
  ["a/b_", "not a repository path"],
  ["a/b___c", "not a repository path"],
  [":tag", "missing"],
  ["-registry.io/app", "not a registry"],
  ["registry.io:port/app", "not a registry"],
  ["a".repeat(248), "limit is 255"],
  [`app@custom+alg:${"c".repeat(32)}`, "not a supported digest algorithm"],
  [`app@SHA256:${hex64}`, "not a supported digest algorithm"],
  [`app@sha384:${"d".repeat(40)}`, "96 hex characters"],
  ["app:1:2", "not a repository path"],
  ["app@sha256:abc@sha256:def", "not a digest"],
  ["exa mple.com/app", "not a registry"],
]

describe("parseImageReference", () => {
  it.each(valid)("accepts %s as %s", (input, canonical) => {
    expect(Result.getOrThrow(normaliseImageReference(input))).toBe(canonical)
  })

  it.each(invalid)("rejects %j (%s)", (input, reason) => {
    const result = parseImageReference(input)
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure.message).toContain(reason)
      expect(result.failure.message).toContain(`"${input}"`)
    }
  })

  it("normalising is idempotent", () => {
    for (const [, canonical] of valid) {
      expect(Result.getOrThrow(normaliseImageReference(canonical))).toBe(canonical)
    }
  })

  it("round-trips: formatting a parsed reference and parsing it again gives the same reference", () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8})?$/)
    const reference = fc.record({
      domain: fc.constantFrom("docker.io", "ghcr.io", "localhost:5000", "10.0.0.1:443", "[::1]:5000"),
      path: fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/")),
      tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
      digest: fc.option(
        fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
        { nil: undefined },
      ),
    })
    fc.assert(
      fc.property(reference, (r) => {
        const formatted = `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`
        const parsed = Result.getOrThrow(parseImageReference(formatted))
        expect(Result.getOrThrow(parseImageReference(formatImageReference(parsed)))).toEqual(parsed)
      }),
    )
  })

  it("agrees with the pattern the CRDs validate with", () => {
    const pattern = new RegExp(imageReferencePattern)
    for (const [input] of valid) expect(pattern.test(input), input).toBe(true)
    // What the pattern alone cannot see (length, digest length per algorithm, lowercase hex for
    // sha256, bare ids) is named here so that any other disagreement fails this test.
    const beyondPattern = new Set([
      hex64,
      "a".repeat(248),
      `app@custom+alg:${"c".repeat(32)}`,
      `app@SHA256:${hex64}`,
      `app@sha384:${"d".repeat(40)}`,
      `nginx@sha256:${"a".repeat(40)}`,
      `nginx@sha256:${"A".repeat(64)}`,
      `nginx@sha512:${hex64}`,
    ])
    for (const [input] of invalid) {
      if (!beyondPattern.has(input)) expect(pattern.test(input), input).toBe(false)
    }
  })
})

describe("runtimeHolds", () => {
  const parse = (input: string) => Result.getOrThrow(parseImageReference(input))

  it("matches a short name against the runtime's normalised RepoTags", () => {
    expect(
      runtimeHolds(parse("nginx:1.27"), { repoTags: ["docker.io/library/nginx:1.27"], repoDigests: [] }),
    ).toBe(true)
    expect(
      runtimeHolds(parse("nginx"), { repoTags: ["docker.io/library/nginx:1.27"], repoDigests: [] }),
    ).toBe(false)
  })

  it("matches a digest reference by RepoDigests, whatever tag it was pulled under", () => {
    const runtime = { repoTags: [], repoDigests: [`docker.io/library/nginx@sha256:${hex64}`] }
    expect(runtimeHolds(parse(`nginx:any@sha256:${hex64}`), runtime)).toBe(true)
    expect(runtimeHolds(parse(`nginx@sha256:${"f".repeat(64)}`), runtime)).toBe(false)
    expect(runtimeHolds(parse(`other@sha256:${hex64}`), runtime)).toBe(false)
  })
})
