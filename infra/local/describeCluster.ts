/** The "what runs where" table the demo and `coral up` print. */
import type { LocalCluster } from "./LocalCluster.ts"

export const describeCluster = (cluster: LocalCluster): string => {
  const rows: Array<[string, string]> = [
    ["kube-apiserver", cluster.kube.url],
    ["kubeconfig", cluster.kube.kubeconfigPath],
    ["nats (JetStream)", cluster.nats.url],
    ["registry (anonymous)", cluster.registries.public.host],
    [
      "registry (basic auth)",
      `${cluster.registries.private.host} (user ${cluster.registries.private.credentials?.username ?? "?"})`,
    ],
    ...cluster.nodes.map((node): [string, string] => [
      `node ${node.name}`,
      `containerd ${node.containerd.socket}`,
    ]),
    ["logs and data", cluster.dir],
  ]
  const width = Math.max(...rows.map(([name]) => name.length))
  return [
    ...rows.map(([name, where]) => `  ${name.padEnd(width)}  ${where}`),
    "",
    `  try: ${cluster.binaries.kubectl} --kubeconfig ${cluster.kube.kubeconfigPath} get nodes --show-labels`,
  ].join("\n")
}
