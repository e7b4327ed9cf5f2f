import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    // The shared real servers (kube-apiserver, NATS, registries) start once per run.
    globalSetup: ["tests/support/globalSetup.ts"],
    // Generous deadlines only so a broken server cannot hang the run; speed is measured in benchmarks.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default", ["json", { outputFile: ".vitest/results.json" }]],
  },
})
