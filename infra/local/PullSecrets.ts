/** Creates `kubernetes.io/dockerconfigjson` pull secrets, for the demo and the tests. */
import type { CoreV1Api } from "@kubernetes/client-node"
import { kubeRequest } from "../../k8s/KubeRequest.ts"

/** One `auths` entry of a docker config: username and password, or the base64 `auth` field. */
export interface DockerAuth {
  readonly username?: string
  readonly password?: string
  readonly auth?: string
}

export const createPullSecret = (
  core: CoreV1Api,
  secret: {
    readonly namespace: string
    readonly name: string
    readonly auths: Readonly<Record<string, DockerAuth>>
  },
) =>
  kubeRequest(`create Secret ${secret.namespace}/${secret.name}`, () =>
    core.createNamespacedSecret({
      namespace: secret.namespace,
      body: {
        metadata: { name: secret.name },
        type: "kubernetes.io/dockerconfigjson",
        data: {
          ".dockerconfigjson": Buffer.from(JSON.stringify({ auths: secret.auths })).toString("base64"),
        },
      },
    }),
  )
