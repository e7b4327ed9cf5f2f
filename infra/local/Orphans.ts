/**
 * Servers must not outlive the harness that started them. While a harness process lives, its
 * children are killed when it exits (normally or on SIGINT/SIGTERM). A harness killed outright
 * (SIGKILL) cannot clean up, so every child is also recorded in a shared folder with its parent's
 * pid and its command; the next harness to start kills the children of harnesses that are gone —
 * after checking that the pid still runs that command, so a reused pid is never killed.
 */
import type { ChildProcess } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const registry = join(tmpdir(), "coral-harness-children")
const live = new Set<ChildProcess>()
let hooked = false

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? ""
  } catch {
    return ""
  }
}

const hook = () => {
  if (hooked) return
  hooked = true
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL")
  })
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // Only when nobody else handles the signal: then Node would exit without running "exit" hooks.
    if (process.listenerCount(signal) === 0)
      process.once(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : 15)))
  }
}

/** Kills children left behind by harness processes that no longer run. */
export const sweepOrphans = () => {
  mkdirSync(registry, { recursive: true })
  for (const file of readdirSync(registry)) {
    try {
      const { pid, parent, command } = JSON.parse(readFileSync(join(registry, file), "utf8")) as {
        pid: number
        parent: number
        command: string
      }
      if (alive(parent)) continue
      if (alive(pid) && commandOf(pid) === command) process.kill(pid, "SIGKILL")
      rmSync(join(registry, file), { force: true })
    } catch {
      rmSync(join(registry, file), { force: true })
    }
  }
}

export const track = (child: ChildProcess, command: string) => {
  hook()
  live.add(child)
  const pid = child.pid
  if (pid === undefined) return
  mkdirSync(registry, { recursive: true })
  const file = join(registry, String(pid))
  writeFileSync(file, JSON.stringify({ pid, parent: process.pid, command }))
  child.once("exit", () => {
    live.delete(child)
    rmSync(file, { force: true })
  })
}
