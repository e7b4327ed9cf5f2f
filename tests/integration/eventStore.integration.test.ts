/**
 * The event store on a real nats-server: provisioning (idempotent, repairs drift, never deletes),
 * appends with de-duplication and optimistic concurrency, replay by subject, sequence and time, and
 * a durable consumer that sets undecodable messages aside as PoisonEvents and keeps going.
 * Each test file gets its own nats-server: the stream names are fixed, so files must not share one.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:net"
import { join } from "node:path"
import { StorageType } from "@nats-io/jetstream"
import { Duration, Effect, Exit, Fiber, Layer, Ref, Stream } from "effect"
import { describe, expect, it } from "vitest"
import type { CoralEvent, StoredEvent } from "../../domain/Events.ts"
import { nodeSubject, poisonSubject, specSubject, streams } from "../../domain/Subjects.ts"
import {
  AppendConflict,
  EventStore,
  layerEventLog,
  makeEvent,
  RetryLater,
} from "../../eventlog/EventStore.ts"
import { atLeast, connectNats, Nats } from "../../eventlog/Nats.ts"
import { defaultEventLogSettings, provisionEventLog } from "../../eventlog/Provisioning.ts"
import { startNats } from "../../infra/local/Nats.ts"
import { imageSyncApplied, nodeObserved } from "../support/events.ts"
import { eventually } from "../support/eventually.ts"
import { scopedResource, servers } from "../support/sharedServers.ts"

const cluster = "it"
const settings = defaultEventLogSettings(cluster)

const nats = scopedResource(
  startNats(servers().binaries, join(servers().dir, `nats-eventstore-${randomUUID().slice(0, 8)}`)),
)

const run = <A, E>(effect: Effect.Effect<A, E, Nats | EventStore>) => {
  const live = layerEventLog(cluster, { servers: nats().url, name: "coral-test" })
  return Effect.runPromise(Effect.scoped(effect.pipe(Effect.provide(live))))
}

const withJsm = <A>(f: (jsm: Nats["Service"]["jsm"]) => Promise<A>) =>
  run(
    Effect.gen(function* () {
      const { jsm } = yield* Nats
      return yield* Effect.promise(() => f(jsm))
    }),
  )

const web = { kind: "ImageSync", namespace: "team.a", name: "web" } as const
const applied = (generation: number) =>
  imageSyncApplied("web", { images: ["nginx:1"] }, { generation, namespace: "team.a" })

describe("event store on JetStream", () => {
  it("provisions streams and buckets idempotently, repairs drift, and refuses to recreate what it cannot change", async () => {
    await run(provisionEventLog(settings))
    await run(provisionEventLog(settings))
    const info = await withJsm((jsm) => jsm.streams.info(streams.events))
    expect(info.config).toMatchObject({
      deny_delete: true,
      deny_purge: true,
      allow_direct: true,
      storage: StorageType.File,
    })
    expect(info.config.subjects).toEqual(["coral.evt.it.>", "coral.obs.it.>"])

    // Someone shortened retention by hand: the next start-up puts it back.
    await withJsm((jsm) => jsm.streams.update(streams.events, { ...info.config, max_age: 3_600_000_000_000 }))
    await run(provisionEventLog(settings))
    const repaired = await withJsm((jsm) => jsm.streams.info(streams.events))
    expect(repaired.config.max_age).toBe(info.config.max_age)

    const buckets = await withJsm(async (jsm) => [
      (await jsm.streams.info("KV_coral_desired")).config,
      (await jsm.streams.info("KV_coral_proj")).config,
    ])
    expect(buckets.map((config) => config.max_msgs_per_subject)).toEqual([5, 1])
  })

  it("stops with a clear error when an existing stream has a setting it cannot change in place", async () => {
    // Simulate: CORAL_EVENTS exists with memory storage (created by hand before Coral was installed).
    const exit = await run(
      Effect.gen(function* () {
        const { jsm } = yield* Nats
        const current = yield* Effect.promise(() => jsm.streams.info(streams.events))
        yield* Effect.promise(() => jsm.streams.delete(streams.events).catch(() => false))
        yield* Effect.promise(() =>
          jsm.streams.add({ ...current.config, deny_delete: false, storage: StorageType.Memory }),
        )
        return yield* Effect.exit(provisionEventLog(settings))
      }),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain("storage=memory but Coral needs storage=file")
    expect(String(exit)).toContain("never deletes events")
    // Put a file-backed stream back for the following tests.
    await withJsm((jsm) => jsm.streams.delete(streams.events))
    await run(provisionEventLog(settings))
  })

  it("de-duplicates by message id and fences concurrent writers with the subject's last sequence", async () => {
    const subject = specSubject(cluster, web)
    const result = await run(
      Effect.gen(function* () {
        const store = yield* EventStore
        const before = yield* store.lastSubjectSequence(subject)
        const first = yield* store.append(subject, applied(1), {
          msgId: "uid:1",
          expectedLastSubjectSequence: before,
        })
        const again = yield* store.append(subject, applied(1), { msgId: "uid:1" })
        // A second writer that read the subject before the first append lands is refused.
        const stale = yield* Effect.flip(
          store.append(subject, applied(2), { msgId: "uid:2", expectedLastSubjectSequence: before }),
        )
        const next = yield* store.append(subject, applied(2), {
          msgId: "uid:2",
          expectedLastSubjectSequence: first.sequence,
        })
        const last = yield* store.lastSubjectSequence(subject)
        return { before, first, again, stale, next, last }
      }),
    )
    expect(result.before).toBe(0)
    expect(result.again).toEqual({ sequence: result.first.sequence, duplicate: true })
    expect(result.stale).toBeInstanceOf(AppendConflict)
    expect(result.next.sequence).toBe(result.last)
  })

  it("replays by subject filter, from a sequence, and from a time, in order, ending at the stream's end", async () => {
    const node = nodeSubject(cluster, "replay-node.1")
    const { sequences, middle } = await run(
      Effect.gen(function* () {
        const store = yield* EventStore
        const sequences: Array<number> = []
        for (const n of [1, 2]) {
          sequences.push(
            (yield* store.append(node, nodeObserved(`replay-node.1`, { n: String(n) }), {
              msgId: randomUUID(),
            })).sequence,
          )
        }
        yield* Effect.sleep(Duration.millis(50))
        const middle = new Date()
        yield* Effect.sleep(Duration.millis(50))
        sequences.push(
          (yield* store.append(node, nodeObserved("replay-node.1", { n: "3" }), { msgId: randomUUID() }))
            .sequence,
        )
        yield* store.append(nodeSubject(cluster, "other"), nodeObserved("other"), { msgId: randomUUID() })
        return { sequences, middle }
      }),
    )
    const replay = (options: Parameters<EventStore["Service"]["replay"]>[0]) =>
      run(
        Effect.gen(function* () {
          const store = yield* EventStore
          return yield* Stream.runCollect(store.replay(options))
        }),
      ).then((chunk) => chunk.map((m) => m.sequence))
    expect(await replay({ subjects: [node] })).toEqual(sequences)
    expect(await replay({ subjects: [node], fromSequence: sequences[1] ?? 0 })).toEqual(sequences.slice(1))
    expect(await replay({ subjects: [node], since: middle })).toEqual(sequences.slice(2))
    expect(await replay({ subjects: [nodeSubject(cluster, "never-seen")] })).toEqual([])
  })

  it("sets an undecodable message aside as a PoisonEvent and goes on; a retryable failure is redelivered", async () => {
    const subject = nodeSubject(cluster, "poison-node")
    const handled = await run(
      Effect.gen(function* () {
        const store = yield* EventStore
        const { js } = yield* Nats
        const seen = yield* Ref.make<Array<string>>([])
        let failedOnce = false
        const fiber = yield* Effect.forkChild(
          store.consume({ durable: "poison-test", subjects: [subject] }, (stored: StoredEvent) =>
            Effect.gen(function* () {
              const label =
                (stored.event as Extract<CoralEvent, { type: "NodeObserved" }>).data.labels.n ?? ""
              if (label === "retry" && !failedOnce) {
                failedOnce = true
                return yield* new RetryLater({ reason: "test", delay: Duration.millis(100) })
              }
              yield* Ref.update(seen, (list) => [...list, label])
            }),
          ),
        )
        yield* store.append(subject, nodeObserved("poison-node", { n: "before" }), { msgId: randomUUID() })
        yield* Effect.promise(() => js.publish(subject, "{ this is not json"))
        yield* Effect.promise(() =>
          js.publish(subject, JSON.stringify({ type: "NodeObserved", data: { name: 7 } })),
        )
        yield* store.append(subject, nodeObserved("poison-node", { n: "retry" }), { msgId: randomUUID() })
        yield* store.append(subject, nodeObserved("poison-node", { n: "after" }), { msgId: randomUUID() })
        yield* Effect.promise(() =>
          eventually("the consumer handled every good message", async () => {
            const list = await Effect.runPromise(Ref.get(seen))
            expect([...list].sort()).toEqual(["after", "before", "retry"])
          }),
        )
        yield* Fiber.interrupt(fiber)
        const poisons = yield* Stream.runCollect(
          store.replay({ subjects: [poisonSubject(cluster, "poison-test")] }),
        )
        return poisons
      }),
    )
    expect(handled).toHaveLength(2)
    const reasons = handled.map((m) =>
      m._tag === "Event" && m.event.type === "PoisonEvent" ? m.event.data.reason : m._tag,
    )
    expect(reasons[0]).toMatch(/^not JSON/)
    expect(reasons[1]).toMatch(/^unknown event type|NodeObserved:/)
  })

  it("gives up on a message that keeps asking for a retry, records why, and goes on", async () => {
    const subject = nodeSubject(cluster, "stubborn-node")
    const result = await run(
      Effect.gen(function* () {
        const store = yield* EventStore
        const seen = yield* Ref.make<Array<string>>([])
        const fiber = yield* Effect.forkChild(
          store.consume(
            { durable: "stubborn-test", subjects: [subject], maxDeliver: 2 },
            (stored: StoredEvent) =>
              Effect.gen(function* () {
                const label =
                  (stored.event as Extract<CoralEvent, { type: "NodeObserved" }>).data.labels.n ?? ""
                if (label === "never")
                  return yield* new RetryLater({ reason: "always busy", delay: Duration.millis(50) })
                yield* Ref.update(seen, (list) => [...list, label])
              }),
          ),
        )
        yield* store.append(subject, nodeObserved("stubborn-node", { n: "never" }), { msgId: randomUUID() })
        yield* store.append(subject, nodeObserved("stubborn-node", { n: "fine" }), { msgId: randomUUID() })
        const poisons = yield* Effect.promise(() =>
          eventually("the stubborn message was set aside", async () => {
            const found = await Effect.runPromise(
              Stream.runCollect(store.replay({ subjects: [poisonSubject(cluster, "stubborn-test")] })),
            )
            expect(found).toHaveLength(1)
            return found
          }),
        )
        yield* Fiber.interrupt(fiber)
        return { poisons, seen: yield* Ref.get(seen) }
      }).pipe(Effect.provide(Layer.empty)),
    )
    expect(result.seen).toEqual(["fine"])
    const [poison] = result.poisons
    expect(
      poison?._tag === "Event" && poison.event.type === "PoisonEvent" ? poison.event.data.reason : "",
    ).toBe("gave up after 2 deliveries: always busy")
  })

  it("builds envelopes with ids, the cluster, a correlation id and the schema version", async () => {
    const event = await Effect.runPromise(makeEvent("NodeRemoved", { name: "n", uid: "u" }, { cluster }))
    expect(event).toMatchObject({ type: "NodeRemoved", cluster, schemaVersion: 1, correlationId: event.id })
  })
})

describe("NATS server version check", () => {
  it("compares versions", () => {
    expect(atLeast("2.11.0", "2.11.0")).toBe(true)
    expect(atLeast("v2.15.3", "2.11.0")).toBe(true)
    expect(atLeast("2.10.22", "2.11.0")).toBe(false)
    expect(atLeast("2.11.0-RC.1", "2.11.0")).toBe(true)
    expect(atLeast("garbage", "2.11.0")).toBe(false)
  })

  // A named fake: no server we can run here is older than the minimum, so this stands in for one.
  // It speaks just enough of the NATS protocol (INFO, then PONG to the client's PING).
  it("refuses a server older than 2.11 with a message that says what to do", async () => {
    const fake = createServer((socket) => {
      socket.write(
        `INFO {"server_id":"FAKE","version":"2.10.4","proto":1,"max_payload":1048576,"headers":true}\r\n`,
      )
      socket.on("data", (data) => {
        if (data.toString().includes("PING")) socket.write("PONG\r\n")
      })
    })
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve))
    const address = fake.address()
    const port = typeof address === "object" && address ? address.port : 0
    try {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(connectNats({ servers: `127.0.0.1:${port}`, name: "old" })),
      )
      expect(String(exit)).toContain("the NATS server runs 2.10.4, Coral needs 2.11.0 or newer")
    } finally {
      fake.close()
    }
  })
})
