/**
 * Who may do what on NATS, as NATS server configuration: one account (`CORAL`, with JetStream)
 * holding an NKey user for the control plane (everything) and one NKey user per node agent, which
 * may only
 * - publish its own observations (`coral.obs.<C>.*.*.*.node-<node>`, its registration included);
 * - read its own keys of `coral_desired` (direct gets and watch/list consumers filtered to
 *   `<C>.<node>.>`), read the bucket's stream info, and answer flow control;
 * - receive on its own inbox prefix (`_INBOX_<node>`), so no agent sees another's replies or
 *   deliveries.
 * So a compromised node can neither read another node's (sealed) assignments nor speak for it.
 * The shipped deployment and the local harness render the same configuration from here.
 */
import { agentInboxPrefix, buckets, desiredKeysOfNode, nodeObservationFilter } from "../../domain/Subjects.ts"

export interface Permissions {
  readonly publish: { readonly allow: ReadonlyArray<string> }
  readonly subscribe: { readonly allow: ReadonlyArray<string> }
}

export const nodeAgentPermissions = (cluster: string, node: string): Permissions => {
  const kvStream = `KV_${buckets.desired}`
  const ownKeys = `$KV.${buckets.desired}.${desiredKeysOfNode(cluster, node)}`
  return {
    publish: {
      allow: [
        nodeObservationFilter(cluster, node),
        "$JS.API.INFO",
        `$JS.API.STREAM.INFO.${kvStream}`,
        `$JS.API.DIRECT.GET.${kvStream}.${ownKeys}`,
        `$JS.API.CONSUMER.CREATE.${kvStream}.*.${ownKeys}`,
        `$JS.API.CONSUMER.INFO.${kvStream}.*`,
        `$JS.API.CONSUMER.DELETE.${kvStream}.*`,
        `$JS.FC.${kvStream}.>`,
      ],
    },
    subscribe: { allow: [`${agentInboxPrefix(node)}.>`] },
  }
}

const list = (values: ReadonlyArray<string>) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`

const userBlock = (nkey: string, permissions?: Permissions) =>
  permissions
    ? `      { nkey: ${nkey}, permissions: { publish: { allow: ${list(permissions.publish.allow)} }, subscribe: { allow: ${list(permissions.subscribe.allow)} } } }`
    : `      { nkey: ${nkey} }`

/** The `accounts` block of a nats-server configuration. */
export const renderAccounts = (options: {
  readonly cluster: string
  readonly controlPlaneNkeys: ReadonlyArray<string>
  readonly agents: ReadonlyArray<{ readonly node: string; readonly nkey: string }>
}): string =>
  [
    "accounts {",
    "  CORAL {",
    "    jetstream: enabled",
    "    users: [",
    [
      ...options.controlPlaneNkeys.map((nkey) => userBlock(nkey)),
      ...options.agents.map((agent) =>
        userBlock(agent.nkey, nodeAgentPermissions(options.cluster, agent.node)),
      ),
    ].join(",\n"),
    "    ]",
    "  }",
    "}",
  ].join("\n")
