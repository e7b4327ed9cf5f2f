/** A KubeConfig from a file when one is named, otherwise the usual search (in-cluster, then ~/.kube/config). */
import { KubeConfig } from "@kubernetes/client-node"

export const loadKubeConfig = (file: string | undefined): KubeConfig => {
  const kubeConfig = new KubeConfig()
  if (file) kubeConfig.loadFromFile(file)
  else kubeConfig.loadFromDefault()
  return kubeConfig
}
