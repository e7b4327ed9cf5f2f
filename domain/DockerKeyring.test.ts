import { Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { credentialsFor, type KeyringEntry, keyringFromSecret } from "./DockerKeyring.ts"
import { parseImageReference } from "./ImageReference.ts"

const b64 = (value: string) => Buffer.from(value).toString("base64")
const configJson = (auths: Record<string, unknown>) => ({
  ".dockerconfigjson": b64(JSON.stringify({ auths })),
})

const keyring = (auths: Record<string, unknown>): ReadonlyArray<KeyringEntry> =>
  Result.getOrThrow(keyringFromSecret("kubernetes.io/dockerconfigjson", configJson(auths)))

const users = (image: string, ring: ReadonlyArray<KeyringEntry>) =>
  credentialsFor(Result.getOrThrow(parseImageReference(image)), ring).map(
    (c) => `${c.username}:${Redacted.value(c.password)}`,
  )

describe("docker keyring", () => {
  it("reads username/password and the auth field, from both secret types", () => {
    const ring = keyring({
      "registry.example.com": { username: "alice", password: "pw1" },
      "other.example.com": { auth: b64("bob:pw:with:colons") },
    })
    expect(users("registry.example.com/app:1", ring)).toEqual(["alice:pw1"])
    expect(users("other.example.com/app:1", ring)).toEqual(["bob:pw:with:colons"])
    const legacy = Result.getOrThrow(
      keyringFromSecret("kubernetes.io/dockercfg", {
        ".dockercfg": b64(JSON.stringify({ "legacy.io": { auth: b64("c:d") } })),
      }),
    )
    expect(users("legacy.io/x", legacy)).toEqual(["c:d"])
  })

  it("ignores schemes and /v1/ /v2/ suffixes, and honours ports and path prefixes", () => {
    const ring = keyring({
      "https://registry.example.com/v2/": { username: "scheme", password: "1" },
      "registry.example.com:5000": { username: "port", password: "2" },
      "registry.example.com/team": { username: "team", password: "3" },
    })
    expect(users("registry.example.com/team/app", ring)).toEqual(["team:3", "scheme:1"])
    expect(users("registry.example.com/other/app", ring)).toEqual(["scheme:1"])
    expect(users("registry.example.com:5000/app", ring)).toEqual(["port:2"])
    expect(users("registry.example.com:6000/app", ring)).toEqual([])
  })

  it("matches wildcard host labels, one label per star", () => {
    const ring = keyring({ "*.example.com": { username: "wild", password: "w" } })
    expect(users("eu.example.com/app", ring)).toEqual(["wild:w"])
    expect(users("a.b.example.com/app", ring)).toEqual([])
  })

  it("uses the Docker Hub entry for short names, whatever alias it is written under", () => {
    const ring = keyring({ "https://index.docker.io/v1/": { username: "hub", password: "h" } })
    expect(users("nginx", ring)).toEqual(["hub:h"])
    expect(users("docker.io/bitnami/redis", ring)).toEqual(["hub:h"])
    expect(users("quay.io/app", ring)).toEqual([])
  })

  it("returns several entries for one host in order, for the agent to try", () => {
    const ring = [
      ...keyring({ "registry.example.com": { username: "first", password: "1" } }),
      ...keyring({ "registry.example.com": { username: "second", password: "2" } }),
    ]
    expect(users("registry.example.com/app", ring)).toEqual(["first:1", "second:2"])
  })

  it("explains a wrong secret without revealing it", () => {
    expect(keyringFromSecret("Opaque", {})).toEqual(
      Result.fail("type is Opaque, expected kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg"),
    )
    expect(
      keyringFromSecret("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": b64("not json s3cret") }),
    ).toEqual(Result.fail("its .dockerconfigjson is not JSON"))
  })
})
