/**
 * One containerd per simulated node: Debian's containerd with its CRI plugin and the `native`
 * snapshotter (no overlay or kernel features needed), each instance with its own root, state and
 * socket. Registry host configuration makes it pull plain HTTP from the harness' registries; the
 * sandbox image points at a local registry so nothing ever reaches out. Readiness is a CRI call
 * answering on the socket.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, type Scope } from "effect"
import { makeCriImageService } from "../../nodeagent/CriImageService.ts"
import type { Binaries } from "./Binaries.ts"
import { type ManagedProcess, managedProcess, type ProcessFailed } from "./Process.ts"

export interface LocalContainerd {
  readonly name: string
  /** Path of the CRI/containerd gRPC socket. */
  readonly socket: string
  readonly process: ManagedProcess
}

const cri = `plugins."io.containerd.grpc.v1.cri"`

const containerdConfig = (dir: string, socket: string, sandboxImage: string) =>
  [
    "version = 2",
    `root = "${join(dir, "root")}"`,
    `state = "${join(dir, "state")}"`,
    // Snapshotters and services that need kernel features or are shared host-wide stay off.
    `disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.opt"]`,
    "[grpc]",
    `  address = "${socket}"`,
    "[ttrpc]",
    `  address = "${socket}.ttrpc"`,
    "[debug]",
    `  address = ""`,
    `  level = "warn"`,
    "[metrics]",
    `  address = ""`,
    `[${cri}]`,
    `  sandbox_image = "${sandboxImage}"`,
    "  disable_apparmor = true",
    "  restrict_oom_score_adj = true",
    `[${cri}.containerd]`,
    `  snapshotter = "native"`,
    `[${cri}.cni]`,
    `  bin_dir = "${join(dir, "cni", "bin")}"`,
    `  conf_dir = "${join(dir, "cni", "conf")}"`,
    `[${cri}.registry]`,
    `  config_path = "${join(dir, "certs.d")}"`,
  ].join("\n")

const hostsToml = (host: string) =>
  [
    `server = "http://${host}"`,
    "",
    `[host."http://${host}"]`,
    `  capabilities = ["pull", "resolve"]`,
    "  skip_verify = true",
  ].join("\n")

/**
 * Starts containerd for node `name` under `dir`, pulling plain HTTP from `registryHosts`
 * (`127.0.0.1:PORT` each).
 */
export const startContainerd = (
  binaries: Binaries,
  dir: string,
  options: { readonly name: string; readonly registryHosts: ReadonlyArray<string> },
): Effect.Effect<LocalContainerd, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    mkdirSync(dir, { recursive: true })
    for (const host of options.registryHosts) {
      const hostDir = join(dir, "certs.d", host)
      mkdirSync(hostDir, { recursive: true })
      writeFileSync(join(hostDir, "hosts.toml"), hostsToml(host))
    }
    // Short: unix socket paths are limited to 107 bytes.
    const socket = join(dir, "c.sock")
    const configFile = join(dir, "config.toml")
    const sandboxImage = `${options.registryHosts[0] ?? "127.0.0.1:1"}/coral/pause:3.9`
    writeFileSync(configFile, containerdConfig(dir, socket, sandboxImage))
    const probe = Effect.scoped(
      Effect.gen(function* () {
        const criService = yield* makeCriImageService(socket)
        return yield* criService.listImages.pipe(
          Effect.as(true),
          Effect.orElseSucceed(() => false),
        )
      }),
    )
    const process = yield* managedProcess({
      name: `containerd-${options.name}`,
      command: binaries.containerd,
      args: ["--config", configFile],
      logFile: join(dir, "containerd.log"),
      ready: probe,
    })
    return { name: options.name, socket, process }
  })
