/**
 * Where the harness finds its server binaries. The Go-built ones (etcd, kube-apiserver, kubectl,
 * nats-server) come from `build-servers.sh`, which builds them on first use and answers from its
 * cache outside the clone afterwards; the Debian ones (containerd, docker-registry, htpasswd) come
 * from the PATH. Anything missing fails with what to run.
 */
import { execFile } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Effect } from "effect"

export class BinaryMissing extends Data.TaggedError("BinaryMissing")<{
  readonly binary: string
  readonly hint: string
}> {
  override get message() {
    return `${this.binary} is not available: ${this.hint}`
  }
}

export interface Binaries {
  readonly etcd: string
  readonly kubeApiserver: string
  readonly kubectl: string
  readonly natsServer: string
  readonly containerd: string
  readonly registry: string
  readonly htpasswd: string
}

const buildScript = fileURLToPath(new URL("./build-servers.sh", import.meta.url))
const setupHint = "run `npm run setup` (it installs the Debian packages and builds the Go servers)"

const onPath = (name: string): Effect.Effect<string, BinaryMissing> =>
  Effect.suspend(() => {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      const candidate = join(dir, name)
      try {
        accessSync(candidate, constants.X_OK)
        return Effect.succeed(candidate)
      } catch {}
    }
    return Effect.fail(new BinaryMissing({ binary: name, hint: setupHint }))
  })

const goBuilt: Effect.Effect<Record<string, string>, BinaryMissing> = Effect.callback((resume) => {
  // The build prints its progress on stderr; pass it through so a cold build shows what it does.
  const env = { ...process.env, CORAL_SETUP_QUIET: "1" }
  const child = execFile("bash", [buildScript], { maxBuffer: 1 << 20, env }, (error, stdout, stderr) => {
    if (error) {
      return resume(
        Effect.fail(
          new BinaryMissing({
            binary: "Go-built test servers",
            hint: `${stderr.trim() || error.message}\n${setupHint}`,
          }),
        ),
      )
    }
    const dirs: Record<string, string> = {}
    for (const line of stdout.split("\n")) {
      const [module, dir] = line.split("=")
      if (module && dir) dirs[module] = dir
    }
    resume(Effect.succeed(dirs))
  })
  child.stderr?.pipe(process.stderr)
})

export const locateBinaries: Effect.Effect<Binaries, BinaryMissing> = Effect.gen(function* () {
  const dirs = yield* goBuilt
  const inModule = (module: string, name: string) =>
    dirs[module]
      ? Effect.succeed(join(dirs[module], name))
      : Effect.fail(new BinaryMissing({ binary: name, hint: setupHint }))
  return {
    etcd: yield* inModule("etcd", "etcd"),
    natsServer: yield* inModule("nats", "nats-server"),
    kubeApiserver: yield* inModule("kube", "kube-apiserver"),
    kubectl: yield* inModule("kube", "kubectl"),
    containerd: yield* onPath("containerd"),
    registry: yield* onPath("docker-registry"),
    htpasswd: yield* onPath("htpasswd"),
  }
})
