/**
 * Installs (or updates) Coral's CRDs in a cluster and waits until the API server serves them.
 * Used by the local cluster-in-a-box and the tests; in production the manifests under `infra/crds/`
 * are applied with the rest of the deployment.
 */
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node"
import { Duration, Effect, Schedule } from "effect"
import { KubeRequestFailed, kubeRequest } from "../../k8s/KubeRequest.ts"
import { renderCrds } from "./generate.ts"

const established = (crd: V1CustomResourceDefinition) =>
  crd.status?.conditions?.some(
    (condition) => condition.type === "Established" && condition.status === "True",
  ) ?? false

const createOrReplace = (api: ApiextensionsV1Api, body: V1CustomResourceDefinition) => {
  const name = body.metadata?.name ?? ""
  return kubeRequest(`create CRD ${name}`, () => api.createCustomResourceDefinition({ body })).pipe(
    Effect.catchIf(
      (error) => error.status === 409,
      () =>
        kubeRequest(`read CRD ${name}`, () => api.readCustomResourceDefinition({ name })).pipe(
          Effect.flatMap((current) =>
            kubeRequest(`replace CRD ${name}`, () =>
              api.replaceCustomResourceDefinition({
                name,
                body: {
                  ...body,
                  metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion ?? "" },
                },
              }),
            ),
          ),
          // Another installer may have replaced it between our read and write.
          Effect.retry({ while: (error) => error.status === 409, times: 5 }),
        ),
    ),
  )
}

const awaitEstablished = (api: ApiextensionsV1Api, name: string) =>
  kubeRequest(`read CRD ${name}`, () => api.readCustomResourceDefinition({ name })).pipe(
    Effect.flatMap((crd) =>
      established(crd)
        ? Effect.void
        : Effect.fail(
            new KubeRequestFailed({ operation: `wait for CRD ${name}`, details: "not Established yet" }),
          ),
    ),
    Effect.retry(
      Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo({ duration: Duration.seconds(60) })),
    ),
  )

export const installCrds = (kubeConfig: KubeConfig): Effect.Effect<void, KubeRequestFailed> =>
  Effect.gen(function* () {
    const api = kubeConfig.makeApiClient(ApiextensionsV1Api)
    for (const manifest of renderCrds().values()) {
      const crd = loadYaml<V1CustomResourceDefinition>(manifest)
      yield* createOrReplace(api, crd)
      yield* awaitEstablished(api, crd.metadata?.name ?? "")
    }
  })
