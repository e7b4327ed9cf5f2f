/**
 * Opens the `coral_desired` bucket the way every Coral process must: with direct gets, whose
 * request subject carries the key, so that per-node permissions can allow an agent its own keys
 * only (a plain stream-message get carries the key in its payload, where permissions cannot see it).
 */
import { type KV, Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/transport-node"
import { buckets } from "../domain/Subjects.ts"

export const openDesiredBucket = (connection: NatsConnection): Promise<KV> =>
  new Kvm(connection).open(buckets.desired, { allow_direct: true })
