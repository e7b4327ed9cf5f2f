/**
 * The README's first command, as a test: the demo brings the cluster-in-a-box up, runs the example
 * ImageSync to Ready on the two general-pool nodes, and tears everything down.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const demo = fileURLToPath(new URL("../../infra/local/demo.ts", import.meta.url))

describe("npm run demo", () => {
  it("runs the example ImageSync to Ready and exits cleanly with --exit-when-done", async () => {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [demo, "--exit-when-done"],
        { timeout: 240_000 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`the demo failed: ${error.message}\n${stdout}\n${stderr}`))
          else resolve(stdout)
        },
      )
    })
    expect(output).toContain("applied examples/imagesync.yaml as ImageSync default/web-images")
    expect(output).toMatch(/web-images is Ready in [0-9.]+s/)
    expect(output).toMatch(/web-images\s+True\s+2\s+2\s+0\s+0\s+AllNodesReady/)
    expect(output).toContain("images in node-3's containerd: (none)")
    expect(output).toContain("$ coral audit imagesync/default/web-images")
    expect(output).toMatch(/planner +assigned node-1 \(3 image\(s\)\), node-2 \(3 image\(s\)\)/)
    expect(output).toContain("coral demo: stopped every server and removed its files")
  })
})
