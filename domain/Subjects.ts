/**
 * NATS subjects and KV keys of Coral's event model, and the one reversible escape that puts
 * Kubernetes names (which contain dots) into subject tokens and KV keys. Every token that carries
 * a name goes through `escapeToken`; nothing else builds subjects.
 */

const safe = /^[A-Za-z0-9_-]$/

/** Escapes `value` into NATS-safe token characters: every other character becomes `=XX` (UTF-8 hex). */
export const escapeToken = (value: string): string => {
  let out = ""
  for (const char of value) {
    if (safe.test(char)) {
      out += char
    } else {
      for (const byte of new TextEncoder().encode(char))
        out += `=${byte.toString(16).toUpperCase().padStart(2, "0")}`
    }
  }
  return out
}

/** The inverse of `escapeToken`. */
export const unescapeToken = (token: string): string => {
  const bytes: Array<number> = []
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "=") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(token.charCodeAt(i))
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

export type ResourceKind = "ImageSync" | "ArtifactSync" | "Mirror"

export interface ResourceKey {
  readonly kind: ResourceKind
  readonly namespace: string
  readonly name: string
}

export const resourceKeyString = (key: ResourceKey): string => `${key.kind}/${key.namespace}/${key.name}`

const kindToken = (kind: ResourceKind) => kind.toLowerCase()
const tokens = (...parts: ReadonlyArray<string>) => parts.map(escapeToken).join(".")

export const streams = { events: "CORAL_EVENTS", work: "CORAL_WORK" } as const
export const buckets = { desired: "coral_desired", projections: "coral_proj" } as const

/** Spec facts of one resource: the aggregate whose sequence guards concurrent writers. */
export const specSubject = (cluster: string, key: ResourceKey) =>
  `coral.evt.${tokens(cluster)}.${kindToken(key.kind)}.${tokens(key.namespace, key.name)}`

export const nodeSubject = (cluster: string, node: string) =>
  `coral.evt.${tokens(cluster)}.node.${tokens(node)}`

/** Status writes of one resource (kept off its spec subject, whose sequence guards spec facts). */
export const statusSubject = (cluster: string, key: ResourceKey) =>
  `coral.evt.${tokens(cluster)}.status.${kindToken(key.kind)}.${tokens(key.namespace, key.name)}`

/** Decisions about mirror jobs (kept off the Mirror's own spec subject). */
export const mirrorJobSubject = (cluster: string, namespace: string, name: string) =>
  `coral.evt.${tokens(cluster)}.mirror-job.${tokens(namespace, name)}`

export const poisonSubject = (cluster: string, consumer: string) =>
  `coral.evt.${tokens(cluster)}.poison.${tokens(consumer)}`

export type Reporter = { readonly node: string } | { readonly worker: string }

const reporterToken = (reporter: Reporter) =>
  "node" in reporter ? `node-${escapeToken(reporter.node)}` : `worker-${escapeToken(reporter.worker)}`

/**
 * Who reported an observation, from its subject (`coral.obs.…` only; the last token names the
 * reporter). Undefined for any other subject.
 */
export const observationReporter = (subject: string): Reporter | undefined => {
  if (!subject.startsWith("coral.obs.")) return undefined
  const last = subject.slice(subject.lastIndexOf(".") + 1)
  if (last.startsWith("node-")) return { node: unescapeToken(last.slice(5)) }
  if (last.startsWith("worker-")) return { worker: unescapeToken(last.slice(7)) }
  return undefined
}

/** Observations: reports from nodes and workers, under their own prefix. */
export const observationSubject = (cluster: string, key: ResourceKey, reporter: Reporter) =>
  `coral.obs.${tokens(cluster)}.${kindToken(key.kind)}.${tokens(key.namespace, key.name)}.${reporterToken(reporter)}`

/** A node agent's own facts (its registration), shaped like an observation so the same permission covers it. */
export const agentSubject = (cluster: string, node: string) =>
  `coral.obs.${tokens(cluster)}.agent._.${tokens(node)}.${reporterToken({ node })}`

/** What a node agent may publish: its own observations, whatever the resource. */
export const nodeObservationFilter = (cluster: string, node: string) =>
  `coral.obs.${tokens(cluster)}.*.*.*.${reporterToken({ node })}`

export const eventSubjects = (cluster: string) => [
  `coral.evt.${tokens(cluster)}.>`,
  `coral.obs.${tokens(cluster)}.>`,
]

export const workSubjects = (cluster: string) => [`coral.work.${tokens(cluster)}.>`]

export const mirrorWorkSubject = (cluster: string, namespace: string, name: string) =>
  `coral.work.${tokens(cluster)}.mirror.${tokens(namespace, name)}`

/** KV key of one node's assignment for one resource. */
export const desiredKey = (cluster: string, node: string, key: ResourceKey) =>
  `${tokens(cluster, node)}.${kindToken(key.kind)}.${tokens(key.namespace, key.name)}`

/** The inbox prefix of a node agent's connection: the only replies and deliveries it may receive. */
export const agentInboxPrefix = (node: string) => `_INBOX_${escapeToken(node)}`

/** KV filter of every key of one cluster. */
export const desiredKeysOfCluster = (cluster: string) => `${tokens(cluster)}.>`

/** KV filter an agent watches: everything assigned to its node. */
export const desiredKeysOfNode = (cluster: string, node: string) => `${tokens(cluster, node)}.>`
