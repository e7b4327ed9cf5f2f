/**
 * Smoke: the harness' NATS servers run JetStream. A stream takes messages that a durable pull
 * consumer receives and acknowledges; a KV bucket's watcher sees a put; a three-server cluster
 * elects a leader for a stream replicated three times and keeps serving when one server stops.
 */
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { startNatsCluster } from "../../infra/local/Nats.ts"
import { eventually } from "../support/eventually.ts"
import { scopedResource, servers } from "../support/sharedServers.ts"

const connections: Array<NatsConnection> = []
const open = async (servers: string | Array<string>) => {
  const nc = await connect({ servers, name: "coral-smoke" })
  connections.push(nc)
  return nc
}

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()))
})

describe("NATS JetStream smoke", () => {
  const cluster = scopedResource(
    startNatsCluster(servers().binaries, join(servers().dir, `nats-cluster-${randomUUID().slice(0, 8)}`)),
  )

  it("delivers published messages to a durable pull consumer, once acknowledged", async () => {
    const nc = await open(servers().nats.url)
    const jsm = await jetstreamManager(nc)
    const stream = `SMOKE_${randomUUID().slice(0, 8)}`
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] })
    await jsm.consumers.add(stream, { durable_name: "reader", ack_policy: AckPolicy.Explicit })

    const js = jetstream(nc)
    for (const n of [1, 2, 3]) {
      const ack = await js.publish(`${stream}.events`, JSON.stringify({ n }), { msgID: `m-${n}` })
      expect(ack.seq).toBe(n)
    }
    // The same message id again is de-duplicated, not stored twice.
    expect((await js.publish(`${stream}.events`, JSON.stringify({ n: 3 }), { msgID: "m-3" })).duplicate).toBe(
      true,
    )

    const consumer = await js.consumers.get(stream, "reader")
    const received: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const message = await consumer.next({ expires: 5000 })
      if (!message) throw new Error("the consumer returned no message")
      received.push((message.json() as { n: number }).n)
      message.ack()
    }
    expect(received).toEqual([1, 2, 3])
    await eventually("the consumer has no pending messages", async () => {
      const info = await jsm.consumers.info(stream, "reader")
      expect(info.num_pending + info.num_ack_pending).toBe(0)
    })
  })

  it("shows a KV put to a watcher", async () => {
    const nc = await open(servers().nats.url)
    const kv = await new Kvm(nc).create(`smoke_${randomUUID().slice(0, 8)}`)
    const watch = await kv.watch({ key: "node-1.>" })
    await kv.put("node-1.images", "registry/app:1")
    await kv.put("node-2.images", "registry/other:1")
    for await (const entry of watch) {
      expect(entry.key).toBe("node-1.images")
      expect(entry.string()).toBe("registry/app:1")
      break
    }
  })

  it("replicates a stream over a three-server cluster and survives losing one server", async () => {
    const { servers: members, urls } = cluster()
    const nc = await open([...urls])
    const jsm = await jetstreamManager(nc)
    const stream = `REPLICATED_${randomUUID().slice(0, 8)}`
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], num_replicas: 3 })
    const js = jetstream(nc)
    await js.publish(`${stream}.a`, "before")

    const info = await jsm.streams.info(stream)
    expect(info.cluster?.replicas?.length).toBe(2)
    const leader = members.find((member) => member.process.name === info.cluster?.leader)
    if (!leader) throw new Error(`no member is named like the stream leader ${info.cluster?.leader}`)
    await Effect.runPromise(leader.process.stop)

    await eventually(
      "the stream accepts writes again after its leader stopped",
      () => js.publish(`${stream}.a`, "after", { timeout: 2000 }),
      { timeoutMs: 60_000 },
    )
    await Effect.runPromise(leader.process.start)
    await eventually("the restarted server serves the stream again", async () => {
      const after = await jsm.streams.info(stream)
      expect(after.state.messages).toBe(2)
      expect(after.cluster?.replicas?.every((replica) => replica.current)).toBe(true)
    })
  })
})
