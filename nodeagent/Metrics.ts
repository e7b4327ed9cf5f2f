/** The node agent's Prometheus metrics, in a registry of its own (served read-only on /metrics). */
import { Counter, Gauge, Histogram, Registry } from "prom-client"

export const makeAgentMetrics = () => {
  const registry = new Registry()
  return {
    registry,
    pulls: new Counter({
      name: "coral_nodeagent_pulls_total",
      help: "Image pulls attempted through the CRI, by result (success, or the failure reason).",
      labelNames: ["result"],
      registers: [registry],
    }),
    pullSeconds: new Histogram({
      name: "coral_nodeagent_pull_duration_seconds",
      help: "Wall time of successful CRI PullImage calls, including waiting for the registry.",
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    pulledBytes: new Counter({
      name: "coral_nodeagent_pulled_bytes_total",
      help: "Size the runtime reports for images this agent pulled (unpacked size; shared layers count again).",
      registers: [registry],
    }),
    desired: new Gauge({
      name: "coral_nodeagent_images_desired",
      help: "Images assigned to this node.",
      registers: [registry],
    }),
    present: new Gauge({
      name: "coral_nodeagent_images_present",
      help: "Assigned images the runtime holds at the last check.",
      registers: [registry],
    }),
    lastReconcile: new Gauge({
      name: "coral_nodeagent_last_reconcile_timestamp_seconds",
      help: "When the agent last compared its assignments with the runtime (Unix time).",
      registers: [registry],
    }),
  }
}

export type AgentMetrics = ReturnType<typeof makeAgentMetrics>
