/**
 * Child processes of the local harness (etcd, kube-apiserver, nats-server, containerd, registries).
 *
 * A server is a scoped resource: it starts when acquired and is stopped (SIGTERM, then SIGKILL after a
 * grace period) when its scope closes. Output goes to a log file in the server's own directory, and a
 * server that dies before it is ready fails with the tail of that log, so a test that needs it fails
 * with the reason instead of hanging. `stop`/`start` let a test take a server away and bring it back
 * on the same ports and data (a registry outage, a NATS restart).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { Data, Duration, Effect, type Scope } from "effect"
import { track } from "./Orphans.ts"

export class ProcessFailed extends Data.TaggedError("ProcessFailed")<{
  readonly name: string
  readonly reason: string
  readonly logTail: string
}> {
  override get message() {
    return `${this.name}: ${this.reason}${this.logTail ? `\n--- last lines of its log ---\n${this.logTail}` : ""}`
  }
}

export interface ProcessSpec {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly logFile: string
  readonly env?: Readonly<Record<string, string>>
  /** Succeeds once the server answers; polled until `readyTimeout`. */
  readonly ready: Effect.Effect<boolean>
  readonly readyTimeout?: Duration.Input
}

export interface ManagedProcess {
  readonly name: string
  readonly logFile: string
  readonly pid: () => number | undefined
  /** Stops the process and waits for it to exit; a no-op when it is not running. */
  readonly stop: Effect.Effect<void>
  /** Starts it again with the same arguments and waits until it is ready. */
  readonly start: Effect.Effect<void, ProcessFailed>
  /** Sends a signal without waiting (SIGKILL to simulate a crash). */
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
}

const stopGrace = Duration.seconds(10)

export const logTail = (file: string, lines = 30): string => {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return ""
  }
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

const waitForExit = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (exited(child)) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

/** Polls `check` until it succeeds, failing early when `alive` turns false. */
export const pollUntil = (
  name: string,
  check: Effect.Effect<boolean>,
  options: { readonly timeout: Duration.Input; readonly alive?: () => boolean; readonly logFile?: string },
): Effect.Effect<void, ProcessFailed> => {
  const failure = (reason: string) =>
    new ProcessFailed({ name, reason, logTail: options.logFile ? logTail(options.logFile) : "" })
  const loop: Effect.Effect<void, ProcessFailed> = Effect.gen(function* () {
    if (options.alive && !options.alive()) return yield* failure("exited before it was ready")
    if (yield* check) return
    yield* Effect.sleep(Duration.millis(100))
    return yield* loop
  })
  return loop.pipe(
    Effect.timeoutOrElse({
      duration: options.timeout,
      orElse: () =>
        Effect.fail(failure(`not ready after ${Duration.format(Duration.fromInputUnsafe(options.timeout))}`)),
    }),
  )
}

const launch = (spec: ProcessSpec): Effect.Effect<ChildProcess, ProcessFailed> =>
  Effect.suspend(() => {
    const fd = openSync(spec.logFile, "a")
    try {
      const child = spawn(spec.command, [...spec.args], {
        stdio: ["ignore", fd, fd],
        env: { ...process.env, ...spec.env },
      })
      return Effect.callback<ChildProcess, ProcessFailed>((resume) => {
        child.once("spawn", () => {
          track(child, spec.command)
          resume(Effect.succeed(child))
        })
        child.once("error", (error) =>
          resume(Effect.fail(new ProcessFailed({ name: spec.name, reason: error.message, logTail: "" }))),
        )
      })
    } finally {
      closeSync(fd)
    }
  })

const terminate = (child: ChildProcess) =>
  Effect.gen(function* () {
    if (exited(child)) return
    child.kill("SIGTERM")
    yield* waitForExit(child).pipe(
      Effect.timeoutOrElse({
        duration: stopGrace,
        orElse: () => Effect.sync(() => child.kill("SIGKILL")).pipe(Effect.andThen(waitForExit(child))),
      }),
    )
  })

/** Starts a server process for the lifetime of the current scope. */
export const managedProcess = (
  spec: ProcessSpec,
): Effect.Effect<ManagedProcess, ProcessFailed, Scope.Scope> => {
  let child: ChildProcess | undefined
  const start = Effect.gen(function* () {
    if (child && !exited(child)) return
    const started = yield* launch(spec)
    child = started
    yield* pollUntil(spec.name, spec.ready, {
      timeout: spec.readyTimeout ?? Duration.seconds(60),
      alive: () => !exited(started),
      logFile: spec.logFile,
    }).pipe(Effect.tapError(() => terminate(started)))
  })
  const stop = Effect.suspend(() => (child ? terminate(child) : Effect.void))
  const handle: ManagedProcess = {
    name: spec.name,
    logFile: spec.logFile,
    pid: () => (child && !exited(child) ? child.pid : undefined),
    stop,
    start,
    signal: (signal) => Effect.sync(() => child?.kill(signal)),
  }
  return Effect.acquireRelease(Effect.as(start, handle), () => stop)
}

const handedOut = new Set<number>()

/**
 * A free TCP port on loopback (the kernel picks it; the caller binds it soon after). A port already
 * handed out by this process is never handed out again, so two servers started together cannot get
 * the same one.
 */
export const freePort: Effect.Effect<number> = Effect.suspend(() => pickPort).pipe(
  Effect.repeat({ until: (port) => !handedOut.has(port) }),
  Effect.tap((port) => Effect.sync(() => handedOut.add(port))),
)

const pickPort: Effect.Effect<number> = Effect.callback((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})
