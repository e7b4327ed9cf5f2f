/**
 * Kubernetes `Node` objects for simulated nodes: there is no kubelet, so the harness creates each
 * Node with the status a healthy kubelet would report (Ready, no pressure, addresses, capacity) —
 * the API server keeps status given at create. Later changes (readiness, pressure) go through the
 * `nodes/status` subresource, as a kubelet's would.
 */
import type { CoreV1Api, V1Node, V1NodeCondition, V1Taint } from "@kubernetes/client-node"
import { kubeRequest } from "../../k8s/KubeRequest.ts"

export interface SimulatedNodeSpec {
  readonly name: string
  readonly labels?: Readonly<Record<string, string>>
  readonly taints?: Array<V1Taint>
}

const condition = (type: string, status: boolean, reason: string, now: Date): V1NodeCondition => ({
  type,
  status: status ? "True" : "False",
  reason,
  lastHeartbeatTime: now,
  lastTransitionTime: now,
})

const healthyConditions = (now: Date) => [
  condition("Ready", true, "KubeletReady", now),
  condition("MemoryPressure", false, "KubeletHasSufficientMemory", now),
  condition("DiskPressure", false, "KubeletHasNoDiskPressure", now),
  condition("PIDPressure", false, "KubeletHasSufficientPID", now),
]

/** Creates a Node that looks like one a healthy kubelet registered. */
export const createSimulatedNode = (core: CoreV1Api, spec: SimulatedNodeSpec, index: number) => {
  const now = new Date()
  const body: V1Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels: { "kubernetes.io/hostname": spec.name, "kubernetes.io/os": "linux", ...spec.labels },
    },
    spec: { ...(spec.taints ? { taints: spec.taints } : {}) },
    status: {
      conditions: healthyConditions(now),
      addresses: [
        { type: "InternalIP", address: `127.0.${Math.floor(index / 250)}.${(index % 250) + 2}` },
        { type: "Hostname", address: spec.name },
      ],
      capacity: { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" },
      allocatable: { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" },
      phase: "Running",
    },
  }
  return kubeRequest(`create Node ${spec.name}`, () => core.createNode({ body }))
}
