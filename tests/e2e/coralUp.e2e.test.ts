/**
 * `coral up`: the cluster-in-a-box with Coral comes up, says where everything is, and stops
 * everything on Ctrl-C (SIGINT).
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.ts"

const coralCli = fileURLToPath(new URL("../../cli/coral.ts", import.meta.url))

describe("coral up", () => {
  it("brings the cluster-in-a-box up with Coral and tears it down on Ctrl-C", async () => {
    const child = spawn(process.execPath, [coralCli, "up", "--nodes", "1"], {
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (chunk) => {
      output += String(chunk)
    })
    child.stderr.on("data", (chunk) => {
      output += String(chunk)
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      await eventually(
        "coral up is ready",
        () => expect(output).toContain("Press Ctrl-C to stop everything."),
        {
          timeoutMs: 120_000,
        },
      )
      expect(output).toContain("coral up: starting node-1 (Node object and containerd)")
      expect(output).toMatch(/coral CLI: CORAL_NATS_URL=nats:\/\/127\.0\.0\.1:\d+ CORAL_CLUSTER=local/)
    } finally {
      child.kill("SIGINT")
    }
    const code = await exited
    expect(code === 0 || code === 130, `exit code ${code}\n${output}`).toBe(true)
    const dir = /logs and data +(\S+)/.exec(output)?.[1]
    expect(dir).toBeDefined()
    expect(existsSync(dir ?? "")).toBe(false)
  })
})
