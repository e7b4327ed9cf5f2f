/**
 * Smoke: the harness' kube-apiserver is a real one. A CRD registers and serves, an informer sees a
 * custom resource's ADDED and MODIFIED events, the status subresource takes a merge patch, Node
 * objects are created and listed, and kubectl works with the written kubeconfig.
 */
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { createSimulatedNode } from "../../infra/local/SimulatedNodes.ts"
import { eventually } from "../support/eventually.ts"
import { coreApi, kubeConfig, servers } from "../support/sharedServers.ts"

const group = "smoke.coral.stvz.io"
const plural = "widgets"
const version = "v1"
const namespace = "default"

const widgetCrd: V1CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural, singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { size: { type: "integer" } } },
              status: { type: "object", properties: { observedGeneration: { type: "integer" } } },
            },
          },
        },
      },
    ],
  },
}

interface Widget extends KubernetesObject {
  spec?: { size?: number }
  status?: { observedGeneration?: number }
}

describe("kube-apiserver smoke", () => {
  const custom = kubeConfig().makeApiClient(CustomObjectsApi)
  const stops: Array<() => void> = []
  afterAll(() => {
    for (const stop of stops) stop()
  })

  it("serves a CRD, streams its resource's events to an informer and patches its status", async () => {
    await kubeConfig().makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: widgetCrd })
    await eventually("the Widget CRD is served", async () => {
      await custom.listNamespacedCustomObject({ group, version, namespace, plural })
    })

    const seen: Array<string> = []
    const informer = makeInformer<Widget>(
      kubeConfig(),
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      () => custom.listNamespacedCustomObject({ group, version, namespace, plural }),
    )
    informer.on("add", (w) => seen.push(`ADDED ${w.metadata?.name} size=${w.spec?.size}`))
    informer.on("update", (w) => seen.push(`MODIFIED ${w.metadata?.name} size=${w.spec?.size}`))
    await informer.start()
    stops.push(() => void informer.stop())

    const name = `w-${randomUUID().slice(0, 8)}`
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: { apiVersion: `${group}/${version}`, kind: "Widget", metadata: { name }, spec: { size: 1 } },
    })
    await custom.patchNamespacedCustomObject(
      { group, version, namespace, plural, name, body: { spec: { size: 2 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    await eventually("the informer saw ADDED then MODIFIED", () =>
      expect(seen).toEqual([`ADDED ${name} size=1`, `MODIFIED ${name} size=2`]),
    )

    await custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural, name, body: { status: { observedGeneration: 2 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    const stored = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name,
    })) as Widget
    expect(stored.status).toEqual({ observedGeneration: 2 })
    expect(stored.spec).toEqual({ size: 2 })
  })

  it("creates Node objects with a healthy status and lists them", async () => {
    const names = [1, 2, 3].map((i) => `smoke-node-${i}-${randomUUID().slice(0, 6)}`)
    for (const [index, name] of names.entries()) {
      await Effect.runPromise(
        createSimulatedNode(coreApi(), { name, labels: { "smoke/index": String(index) } }, index),
      )
    }
    const listed = await coreApi().listNode({ labelSelector: "smoke/index" })
    const ours = listed.items.filter((node) => names.includes(node.metadata?.name ?? ""))
    expect(ours.map((node) => node.metadata?.name).sort()).toEqual([...names].sort())
    for (const node of ours) {
      expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True")
      expect(node.spec?.taints ?? []).toEqual([])
    }
  })

  it("answers kubectl through the written kubeconfig", () => {
    const output = execFileSync(
      servers().binaries.kubectl,
      ["--kubeconfig", servers().kube.kubeconfigPath, "get", "nodes", "-o", "name"],
      { encoding: "utf8" },
    )
    expect(output).toMatch(/^node\/smoke-node-1-/m)
  })
})
