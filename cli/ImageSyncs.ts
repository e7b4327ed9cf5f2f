/** The Kubernetes side of the CLI: which kubeconfig to use, and the ImageSyncs it sees. */
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node"
import { Config, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import type { ImageSyncStatus } from "../domain/ImageSync.ts"
import { group, version } from "../infra/crd/definitions.ts"
import { kubeRequest } from "../k8s/KubeRequest.ts"
import { loadKubeConfig } from "../k8s/loadKubeConfig.ts"

export const kubeconfigFlag = Flag.String("kubeconfig").pipe(
  Flag.withDescription("kubeconfig file (default: CORAL_KUBECONFIG, in-cluster, then ~/.kube/config)"),
  Flag.withFallbackConfig(Config.String("CORAL_KUBECONFIG")),
  Flag.optional,
)

export const kubeConfigFrom = (file: Option.Option<string>): KubeConfig =>
  loadKubeConfig(Option.getOrUndefined(file))

export interface ImageSyncItem {
  readonly metadata: { readonly namespace: string; readonly name: string }
  readonly status?: ImageSyncStatus
}

export const listImageSyncs = (kubeConfig: KubeConfig) =>
  kubeRequest(
    "list ImageSyncs",
    () =>
      kubeConfig
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group, version, plural: "imagesyncs" }) as Promise<{
        items: Array<ImageSyncItem>
      }>,
  ).pipe(Effect.map((list) => list.items))
