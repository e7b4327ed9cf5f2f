/**
 * What the global setup hands to test files, and helpers to use it: the shared servers' addresses,
 * and `scopedResource`, which acquires an Effect-managed resource (a containerd, a NATS cluster)
 * before a file's tests and releases it after them.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import type { Binaries } from "../../infra/local/Binaries.ts"
import type { RegistryEndpoint } from "../../mirrorer/RegistryClient.ts"

export interface SharedServers {
  readonly dir: string
  readonly binaries: Binaries
  readonly kube: {
    readonly url: string
    readonly token: string
    readonly caCertificate: string
    readonly kubeconfigPath: string
  }
  readonly nats: { readonly url: string }
  readonly registries: {
    readonly public: { readonly host: string }
    readonly private: { readonly host: string; readonly username: string; readonly password: string }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    servers: SharedServers
  }
}

export const servers = (): SharedServers => inject("servers")

export const kubeConfig = (): KubeConfig => {
  const config = new KubeConfig()
  config.loadFromFile(servers().kube.kubeconfigPath)
  return config
}

export const coreApi = () => kubeConfig().makeApiClient(CoreV1Api)

export const publicRegistry = (): RegistryEndpoint => ({
  host: servers().registries.public.host,
  insecure: true,
})

export const privateRegistry = (): RegistryEndpoint => {
  const { host, username, password } = servers().registries.private
  return { host, insecure: true, username, password: Redacted.make(password) }
}

/**
 * Acquires `resource` in `beforeAll` and releases it in `afterAll`; the returned getter gives the
 * acquired value inside tests.
 */
export const scopedResource = <A, E>(resource: Effect.Effect<A, E, Scope.Scope>): (() => A) => {
  let scope: Scope.Closeable | undefined
  let value: { readonly current: A } | undefined
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    value = { current: await Effect.runPromise(resource.pipe(Scope.provide(scope))) }
  })
  afterAll(async () => {
    if (scope) await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  return () => {
    if (!value) throw new Error("the resource was not acquired (its beforeAll failed)")
    return value.current
  }
}
