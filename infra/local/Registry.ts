/**
 * Real OCI registries for tests and the demo: Debian's `docker-registry` (distribution 2.8) on a
 * free loopback port with filesystem storage, either anonymous or behind htpasswd basic auth.
 * The port and storage survive `stop`/`start`, so a test can take a registry away and bring it back.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Redacted, type Scope } from "effect"
import type { Binaries } from "./Binaries.ts"
import { freePort, type ManagedProcess, managedProcess, type ProcessFailed } from "./Process.ts"
import { httpAnswers } from "./probe.ts"

export interface RegistryCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  readonly host: string
  readonly url: string
  readonly credentials?: RegistryCredentials
  readonly process: ManagedProcess
}

const registryConfig = (dir: string, port: number, htpasswdFile?: string) =>
  [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
    ...(htpasswdFile ? ["auth:", "  htpasswd:", "    realm: coral", `    path: ${htpasswdFile}`] : []),
  ].join("\n")

/** Starts a registry under `dir`; with `auth`, it requires those credentials for every request. */
export const startRegistry = (
  binaries: Binaries,
  dir: string,
  options: {
    readonly name: string
    readonly auth?: { readonly username: string; readonly password: string }
  },
): Effect.Effect<LocalRegistry, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    mkdirSync(dir, { recursive: true })
    const port = yield* freePort
    let htpasswdFile: string | undefined
    if (options.auth) {
      htpasswdFile = join(dir, "htpasswd")
      const line = execFileSync(binaries.htpasswd, ["-Bbn", options.auth.username, options.auth.password])
      writeFileSync(htpasswdFile, line, { mode: 0o600 })
    }
    const configFile = join(dir, "config.yml")
    writeFileSync(configFile, registryConfig(dir, port, htpasswdFile))
    const url = `http://127.0.0.1:${port}`
    const process = yield* managedProcess({
      name: options.name,
      command: binaries.registry,
      args: ["serve", configFile],
      logFile: join(dir, "registry.log"),
      ready: httpAnswers(`${url}/v2/`, [200, 401]),
    })
    const credentials = options.auth
      ? { username: options.auth.username, password: Redacted.make(options.auth.password) }
      : undefined
    return { host: `127.0.0.1:${port}`, url, process, ...(credentials ? { credentials } : {}) }
  })
