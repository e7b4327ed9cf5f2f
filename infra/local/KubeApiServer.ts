/**
 * A real Kubernetes API server for tests and the demo: etcd plus kube-apiserver, on free loopback
 * ports, with a temporary data directory.
 *
 * Clients authenticate with a static bearer token (user `coral-admin` in `system:masters`); the
 * server signs service-account tokens with a key pair made at start; a kubeconfig trusting the
 * server's self-generated certificate is written for `kubectl` and `@kubernetes/client-node`.
 * Admission plugins that need controllers we do not run are off: `ServiceAccount` (nothing creates
 * default service accounts) and `TaintNodesByCondition` (nothing would ever remove the `not-ready`
 * taint from the Nodes tests create). There is no kube-controller-manager, so namespaces are never
 * finalised and nothing garbage-collects: tests use fresh names instead of deleting namespaces.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Duration, Effect, type Scope } from "effect"
import type { Binaries } from "./Binaries.ts"
import { freePort, type ManagedProcess, managedProcess, type ProcessFailed } from "./Process.ts"
import { httpAnswers, httpsAnswers } from "./probe.ts"

export interface KubeApiServer {
  readonly url: string
  readonly token: string
  /** PEM of the certificate the server serves (self-signed; trust it as a CA). */
  readonly caCertificate: string
  readonly kubeconfigPath: string
  readonly etcd: ManagedProcess
  readonly apiserver: ManagedProcess
}

const startEtcd = (binaries: Binaries, dir: string) =>
  Effect.gen(function* () {
    const clientPort = yield* freePort
    const peerPort = yield* freePort
    const clientUrl = `http://127.0.0.1:${clientPort}`
    const peerUrl = `http://127.0.0.1:${peerPort}`
    const process = yield* managedProcess({
      name: "etcd",
      command: binaries.etcd,
      args: [
        `--data-dir=${join(dir, "etcd-data")}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      logFile: join(dir, "etcd.log"),
      ready: httpAnswers(`${clientUrl}/health`),
    })
    return { process, clientUrl }
  })

const kubeconfig = (url: string, caCertificate: string, token: string) =>
  JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "coral-local",
          cluster: {
            server: url,
            "certificate-authority-data": Buffer.from(caCertificate).toString("base64"),
          },
        },
      ],
      users: [{ name: "coral-admin", user: { token } }],
      contexts: [{ name: "coral-local", context: { cluster: "coral-local", user: "coral-admin" } }],
      "current-context": "coral-local",
    },
    null,
    2,
  )

/** Starts etcd and kube-apiserver under `dir`; both stop when the scope closes. */
export const startKubeApiServer = (
  binaries: Binaries,
  dir: string,
): Effect.Effect<KubeApiServer, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    mkdirSync(dir, { recursive: true })
    const etcd = yield* startEtcd(binaries, dir)

    const token = randomBytes(24).toString("hex")
    const tokenFile = join(dir, "tokens.csv")
    writeFileSync(tokenFile, `${token},coral-admin,coral-admin,"system:masters"\n`, { mode: 0o600 })
    const signer = generateKeyPairSync("rsa", { modulusLength: 2048 })
    const saKey = join(dir, "sa-signer.key")
    const saPub = join(dir, "sa-signer.pub")
    writeFileSync(saKey, signer.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 })
    writeFileSync(saPub, signer.publicKey.export({ type: "spki", format: "pem" }))

    const port = yield* freePort
    const url = `https://127.0.0.1:${port}`
    const certDir = join(dir, "certs")
    const caFile = join(certDir, "apiserver.crt")
    const apiserver = yield* managedProcess({
      name: "kube-apiserver",
      command: binaries.kubeApiserver,
      args: [
        `--etcd-servers=${etcd.clientUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${port}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        // No `kubernetes` Endpoints to maintain on loopback (1.37 refuses a loopback advertise address otherwise).
        "--endpoint-reconciler-type=none",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--authorization-mode=RBAC",
        `--token-auth-file=${tokenFile}`,
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
        "--v=0",
      ],
      logFile: join(dir, "kube-apiserver.log"),
      ready: httpsAnswers(`${url}/readyz`, caFile, token),
      readyTimeout: Duration.seconds(120),
    })
    const caCertificate = readFileSync(caFile, "utf8")
    const kubeconfigPath = join(dir, "kubeconfig")
    writeFileSync(kubeconfigPath, kubeconfig(url, caCertificate, token), { mode: 0o600 })
    return { url, token, caCertificate, kubeconfigPath, etcd: etcd.process, apiserver }
  })
