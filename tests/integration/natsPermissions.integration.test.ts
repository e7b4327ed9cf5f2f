/**
 * The per-node NATS users Coral ships, on a real nats-server: a node agent can publish its own
 * observations and read and watch its own assignments — and is refused another node's subjects,
 * keys and watches. The control plane can do everything.
 */
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { agentInboxPrefix, desiredKey, desiredKeysOfNode, observationSubject } from "../../domain/Subjects.ts"
import { openDesiredBucket } from "../../eventlog/DesiredBucket.ts"
import { connectNats, Nats, type NatsShape } from "../../eventlog/Nats.ts"
import { defaultEventLogSettings, provisionEventLog } from "../../eventlog/Provisioning.ts"
import { startNats } from "../../infra/local/Nats.ts"
import { eventually } from "../support/eventually.ts"
import { scopedResource, servers } from "../support/sharedServers.ts"

const cluster = "perm"
const resource = { kind: "ImageSync", namespace: "default", name: "web" } as const

const nats = scopedResource(
  startNats(servers().binaries, join(servers().dir, `nats-auth-${randomUUID().slice(0, 8)}`), {
    cluster,
    nodes: ["node-a", "node-b.example"],
  }),
)

const connectAs = async (who: "controlplane" | "node-a" | "node-b.example") => {
  const credentials = nats().credentials
  if (!credentials) throw new Error("the server was started without authorization")
  const scope = await Effect.runPromise(Scope.make())
  const connection = await Effect.runPromise(
    connectNats({
      servers: nats().url,
      name: who,
      nkeySeedFile: who === "controlplane" ? credentials.controlPlane : (credentials.agents[who] ?? ""),
      ...(who === "controlplane" ? {} : { inboxPrefix: agentInboxPrefix(who) }),
    }).pipe(Scope.provide(scope)),
  )
  return { connection, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const refusal = async (attempt: () => Promise<unknown>) => {
  try {
    await attempt()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  return "allowed"
}

describe("per-node NATS users", () => {
  it("let an agent use its own subjects and keys, and refuse it everyone else's", async () => {
    const admin = await connectAs("controlplane")
    const run = <A, E>(effect: Effect.Effect<A, E, Nats>) =>
      Effect.runPromise(effect.pipe(Effect.provideService(Nats, admin.connection as NatsShape)))
    await run(provisionEventLog(defaultEventLogSettings(cluster)))
    const adminKv = await openDesiredBucket(admin.connection.connection)
    await adminKv.put(desiredKey(cluster, "node-a", resource), '{"assignment":"a"}')
    await adminKv.put(desiredKey(cluster, "node-b.example", resource), '{"assignment":"b"}')

    const agent = await connectAs("node-a")
    try {
      const { js, connection } = agent.connection
      // Its own observations: accepted by the stream.
      const ack = await js.publish(observationSubject(cluster, resource, { node: "node-a" }), "{}")
      expect(ack.seq).toBeGreaterThan(0)
      // Someone else's: refused.
      expect(
        await refusal(() =>
          js.publish(observationSubject(cluster, resource, { node: "node-b.example" }), "{}", {
            timeout: 2000,
          }),
        ),
      ).toMatch(/permission|timeout|no responders/i)

      const kv = await openDesiredBucket(connection)
      expect((await kv.get(desiredKey(cluster, "node-a", resource)))?.string()).toBe('{"assignment":"a"}')
      expect(await refusal(() => kv.get(desiredKey(cluster, "node-b.example", resource)))).not.toBe("allowed")

      const own = await kv.watch({ key: desiredKeysOfNode(cluster, "node-a") })
      const seen: Array<string> = []
      void (async () => {
        for await (const entry of own) seen.push(entry.string())
      })()
      await eventually("the agent watches its own keys", () => expect(seen).toContain('{"assignment":"a"}'))
      own.stop()
      expect(await refusal(() => kv.watch({ key: desiredKeysOfNode(cluster, "node-b.example") }))).not.toBe(
        "allowed",
      )
    } finally {
      await agent.close()
      await admin.close()
    }
  })
})
