/**
 * Plan → `coral_desired`. After the projection has caught up, every change of the state (or of the
 * pull secrets) re-runs the pure planner, attaches each node's pull credentials sealed to that
 * node's own key, and writes only the keys whose value differs from what the bucket holds; keys no
 * longer planned are deleted. Sealing is cached per (node key, image, credential), so an unchanged
 * credential does not produce a new ciphertext — and a new KV revision — on every pass.
 *
 * Credentials never rest in clear: they are read from the referenced secrets in memory, matched to
 * each image with the kubelet's rules, and sealed (NATS xkeys, X25519 + XSalsa20-Poly1305) for the
 * one node that needs them. A node whose agent has not registered a key yet gets its assignment
 * without credentials, and gets them as soon as its key appears in the stream.
 */
import { createHash } from "node:crypto"
import type { V1Secret } from "@kubernetes/client-node"
import type { KV } from "@nats-io/kv"
import type { KeyPair } from "@nats-io/nkeys"
import { Data, Effect, Redacted, Result } from "effect"
import { canonicalJson } from "../domain/canonicalJson.ts"
import { credentialsFor, type KeyringEntry, keyringFromSecret } from "../domain/DockerKeyring.ts"
import { parseImageReference } from "../domain/ImageReference.ts"
import type { Assignment, Plan } from "../domain/Planner.ts"
import type { State } from "../domain/Projection.ts"
import { desiredKey, desiredKeysOfCluster } from "../domain/Subjects.ts"

export class DesiredStateWriteFailed extends Data.TaggedError("DesiredStateWriteFailed")<{
  readonly key: string
  readonly details: string
}> {
  override get message() {
    return `writing ${this.key} to coral_desired failed: ${this.details}`
  }
}

/** What an agent reads from its key. */
export interface AssignmentValue {
  readonly assignment: Assignment
  /** Per canonical image, the candidate credentials sealed to the node's key (base64), to try in order. */
  readonly credentials?: { readonly sealedBy: string; readonly images: Readonly<Record<string, string>> }
}

/** A problem with a referenced pull secret, reported in the resource's status. */
export interface CredentialProblem {
  readonly namespace: string
  readonly name: string
  readonly secret: string
  readonly reason: string
}

const encoder = new TextEncoder()

export interface Sealer {
  readonly publicKey: string
  readonly seal: (plaintext: string, recipient: string) => string
}

export const makeSealer = (curve: KeyPair): Sealer => {
  const cache = new Map<string, string>()
  return {
    publicKey: curve.getPublicKey(),
    seal: (plaintext, recipient) => {
      const id = `${recipient}:${createHash("sha256").update(plaintext).digest("hex")}`
      const cached = cache.get(id)
      if (cached) return cached
      const sealed = Buffer.from(curve.seal(encoder.encode(plaintext), recipient)).toString("base64")
      cache.set(id, sealed)
      return sealed
    },
  }
}

/** The keyring of each (namespace, secret name), with why a referenced secret could not be used. */
export const keyringsOf = (
  secrets: ReadonlyArray<V1Secret>,
): ((namespace: string, name: string) => Result.Result<ReadonlyArray<KeyringEntry>, string>) => {
  const byName = new Map(secrets.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]))
  return (namespace, name) => {
    const secret = byName.get(`${namespace}/${name}`)
    if (!secret) return Result.fail("SecretNotFound")
    return keyringFromSecret(secret.type, secret.data)
  }
}

/** The KV entries for `plan`: key → canonical JSON of the value. */
export const desiredEntries = (
  cluster: string,
  plan: Plan,
  state: State,
  secrets: ReadonlyArray<V1Secret>,
  sealer: Sealer,
): { readonly entries: ReadonlyMap<string, string>; readonly problems: ReadonlyArray<CredentialProblem> } => {
  const keyrings = keyringsOf(secrets)
  const problems = new Map<string, CredentialProblem>()
  const entries = new Map<string, string>()
  for (const planned of plan.assignments) {
    const { assignment } = planned
    let value: AssignmentValue = { assignment }
    const recipient = state.agents[planned.node]?.publicKey
    if (assignment.kind === "ImageSync" && assignment.imagePullSecrets.length > 0 && recipient) {
      const ring = assignment.imagePullSecrets.flatMap((secret) => {
        const result = keyrings(assignment.namespace, secret)
        if (Result.isSuccess(result)) return result.success
        const id = `${assignment.namespace}/${assignment.name}/${secret}`
        problems.set(id, {
          namespace: assignment.namespace,
          name: assignment.name,
          secret,
          reason: result.failure,
        })
        return []
      })
      const images: Record<string, string> = {}
      for (const image of assignment.images) {
        const parsed = parseImageReference(image)
        if (Result.isFailure(parsed)) continue
        const candidates = credentialsFor(parsed.success, ring)
        if (candidates.length === 0) continue
        const plaintext = JSON.stringify(
          candidates.map((c) => ({
            registry: c.registry,
            username: c.username,
            password: Redacted.value(c.password),
          })),
        )
        images[image] = sealer.seal(plaintext, recipient)
      }
      if (Object.keys(images).length > 0)
        value = { assignment, credentials: { sealedBy: sealer.publicKey, images } }
    }
    entries.set(desiredKey(cluster, planned.node, planned.resource), canonicalJson(value))
  }
  return { entries, problems: [...problems.values()] }
}

/** Reads every key of this cluster from the bucket (the starting point of the diff). */
export const readDesired = (
  kv: KV,
  cluster: string,
): Effect.Effect<Map<string, string>, DesiredStateWriteFailed> =>
  Effect.tryPromise({
    try: async () => {
      const current = new Map<string, string>()
      const keys = await kv.keys(desiredKeysOfCluster(cluster))
      for await (const key of keys) {
        const entry = await kv.get(key)
        if (entry && entry.operation === "PUT") current.set(key, entry.string())
      }
      return current
    },
    catch: (cause) => new DesiredStateWriteFailed({ key: `${cluster}.>`, details: String(cause) }),
  })

/** Makes the bucket hold `desired`: puts what differs, deletes what is gone; updates `written` in place. */
export const writeDifference = (
  kv: KV,
  written: Map<string, string>,
  desired: ReadonlyMap<string, string>,
): Effect.Effect<{ readonly puts: number; readonly deletes: number }, DesiredStateWriteFailed> =>
  Effect.gen(function* () {
    let puts = 0
    let deletes = 0
    for (const [key, value] of desired) {
      if (written.get(key) === value) continue
      yield* Effect.tryPromise({
        try: () => kv.put(key, value),
        catch: (cause) => new DesiredStateWriteFailed({ key, details: String(cause) }),
      })
      written.set(key, value)
      puts++
    }
    for (const key of [...written.keys()]) {
      if (desired.has(key)) continue
      yield* Effect.tryPromise({
        try: () => kv.delete(key),
        catch: (cause) => new DesiredStateWriteFailed({ key, details: String(cause) }),
      })
      written.delete(key)
      deletes++
    }
    return { puts, deletes }
  })
