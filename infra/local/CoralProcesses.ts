/**
 * Coral's own processes in the local cluster-in-a-box: the control plane and one node agent per
 * simulated node, each a real child process running on the pinned Node.js, configured through the
 * same `CORAL_*` variables as in a real deployment, and ready when its `/healthz` answers.
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, type Scope } from "effect"
import { freePort, type ManagedProcess, managedProcess, type ProcessFailed } from "./Process.ts"
import { httpAnswers } from "./probe.ts"

const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

export interface CoralProcess {
  readonly process: ManagedProcess
  readonly metricsUrl: string
}

const start = (name: string, script: string, dir: string, env: Record<string, string>) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const metricsUrl = `http://127.0.0.1:${port}`
    const process = yield* managedProcess({
      name,
      command: globalThis.process.execPath,
      args: [entry(script)],
      env: { ...env, CORAL_METRICS_ADDRESS: `127.0.0.1:${port}` },
      logFile: join(dir, `${name}.log`),
      ready: httpAnswers(`${metricsUrl}/healthz`),
    })
    return { process, metricsUrl } satisfies CoralProcess
  })

export interface ControlPlaneSettings {
  readonly cluster: string
  readonly natsUrl: string
  readonly kubeconfigPath: string
  /** Distinguishes several control planes (leader and standbys) in logs and the Lease. */
  readonly instance?: string
  readonly extraEnv?: Record<string, string>
}

export const startControlPlaneProcess = (
  dir: string,
  settings: ControlPlaneSettings,
): Effect.Effect<CoralProcess, ProcessFailed, Scope.Scope> =>
  start(`controlplane${settings.instance ? `-${settings.instance}` : ""}`, "controlplane/main.ts", dir, {
    CORAL_CLUSTER: settings.cluster,
    CORAL_NATS_URL: settings.natsUrl,
    CORAL_KUBECONFIG: settings.kubeconfigPath,
    ...settings.extraEnv,
  })

export interface NodeAgentSettings {
  readonly cluster: string
  readonly natsUrl: string
  readonly node: string
  readonly criSocket: string
  readonly extraEnv?: Record<string, string>
}

export const startNodeAgentProcess = (
  dir: string,
  settings: NodeAgentSettings,
): Effect.Effect<CoralProcess, ProcessFailed, Scope.Scope> =>
  start(`nodeagent-${settings.node}`, "nodeagent/main.ts", dir, {
    CORAL_CLUSTER: settings.cluster,
    CORAL_NATS_URL: settings.natsUrl,
    CORAL_NODE_NAME: settings.node,
    CORAL_CRI_SOCKET: settings.criSocket,
    ...settings.extraEnv,
  })
