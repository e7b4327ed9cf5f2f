/**
 * Starts the servers every test file shares — kube-apiserver with etcd, NATS with JetStream, and the
 * two registries — once per run, and hands their addresses to the test files through `inject`.
 * Servers a test damages (containerd per node, a NATS cluster) are started by that test file.
 * If a server cannot start, the whole run fails with the reason; nothing is skipped.
 */
import { Cause, Effect, Exit, Redacted, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { startLocalCluster } from "../../infra/local/LocalCluster.ts"
import type { SharedServers } from "./sharedServers.ts"

export default async function setup(project: TestProject) {
  const scope = await Effect.runPromise(Scope.make())
  const exit = await Effect.runPromiseExit(
    startLocalCluster({ nodes: 0, progress: (line) => console.log(`harness: ${line}`) }).pipe(
      Scope.provide(scope),
    ),
  )
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    throw new Error(`the test servers did not start:\n${Cause.pretty(exit.cause)}`)
  }
  const cluster = exit.value
  const privateRegistry = cluster.registries.private
  const servers: SharedServers = {
    dir: cluster.dir,
    binaries: cluster.binaries,
    kube: {
      url: cluster.kube.url,
      token: cluster.kube.token,
      caCertificate: cluster.kube.caCertificate,
      kubeconfigPath: cluster.kube.kubeconfigPath,
    },
    nats: { url: cluster.nats.url },
    registries: {
      public: { host: cluster.registries.public.host },
      private: {
        host: privateRegistry.host,
        username: privateRegistry.credentials?.username ?? "",
        password: privateRegistry.credentials ? Redacted.value(privateRegistry.credentials.password) : "",
      },
    },
  }
  project.provide("servers", servers)
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
