/**
 * Coral's CustomResourceDefinitions, assembled from the domain schemas: names, printer columns an
 * operator wants in `kubectl get`, the `status` subresource, and the OpenAPI schema generated from
 * each kind's spec and status.
 */
import type { Schema } from "effect"
import { ArtifactSyncSpec, ArtifactSyncStatus } from "../../domain/ArtifactSync.ts"
import { ImageSyncSpec, ImageSyncStatus } from "../../domain/ImageSync.ts"
import { MirrorSpec, MirrorStatus } from "../../domain/Mirror.ts"
import { type OpenApiSchema, toOpenApi } from "./OpenApi.ts"

export const group = "coral.stvz.io"
export const version = "v1alpha1"

/** A printer column as the API expects it on the wire. */
interface PrinterColumn {
  readonly name: string
  readonly type: "string" | "integer" | "date"
  readonly jsonPath: string
  readonly description?: string
  readonly priority?: number
}

interface KindDefinition {
  readonly kind: string
  readonly plural: string
  readonly singular: string
  readonly shortNames: ReadonlyArray<string>
  readonly description: string
  readonly spec: Schema.Top
  readonly status: Schema.Top
  readonly columns: ReadonlyArray<PrinterColumn>
}

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
}
const reasonColumn: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  priority: 1,
}
const ageColumn: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
const nodeColumns: ReadonlyArray<PrinterColumn> = [
  {
    name: "Desired",
    type: "integer",
    jsonPath: ".status.desiredNodes",
    description: "Nodes that should hold it",
  },
  {
    name: "Ready-Nodes",
    type: "integer",
    jsonPath: ".status.readyNodes",
    description: "Nodes that hold all of it",
  },
  { name: "Pulling", type: "integer", jsonPath: ".status.pullingNodes", priority: 1 },
  { name: "Failed", type: "integer", jsonPath: ".status.failedNodes" },
]

export const kinds: ReadonlyArray<KindDefinition> = [
  {
    kind: "ImageSync",
    plural: "imagesyncs",
    singular: "imagesync",
    shortNames: ["isync"],
    description: "Images Coral keeps on selected nodes, pulled through each node's container runtime.",
    spec: ImageSyncSpec,
    status: ImageSyncStatus,
    columns: [readyColumn, ...nodeColumns, reasonColumn, ageColumn],
  },
  {
    kind: "ArtifactSync",
    plural: "artifactsyncs",
    singular: "artifactsync",
    shortNames: ["async"],
    description: "Files Coral downloads, verifies and places on selected nodes.",
    spec: ArtifactSyncSpec,
    status: ArtifactSyncStatus,
    columns: [readyColumn, ...nodeColumns, reasonColumn, ageColumn],
  },
  {
    kind: "Mirror",
    plural: "mirrors",
    singular: "mirror",
    shortNames: ["mir"],
    description: "Images Coral copies from external registries into a registry the cluster owns.",
    spec: MirrorSpec,
    status: MirrorStatus,
    columns: [
      readyColumn,
      { name: "Target", type: "string", jsonPath: ".spec.target.registry" },
      { name: "Interval", type: "string", jsonPath: ".spec.interval", priority: 1 },
      reasonColumn,
      ageColumn,
    ],
  },
]

const rootSchema = (definition: KindDefinition): OpenApiSchema => ({
  type: "object",
  description: definition.description,
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: toOpenApi(definition.spec.ast),
    status: toOpenApi(definition.status.ast),
  },
  required: ["spec"],
})

/**
 * The CRD as wire JSON (`enum`, `default`, `x-kubernetes-*`), not as client-node's model classes,
 * whose serializer would drop keys it spells differently (`_enum`, `_default`): install it through
 * `loadYaml`, which maps the wire names onto the model.
 */
export const customResourceDefinition = (definition: KindDefinition) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${definition.plural}.${group}`, labels: { "app.kubernetes.io/part-of": "coral" } },
  spec: {
    group,
    scope: "Namespaced",
    names: {
      kind: definition.kind,
      listKind: `${definition.kind}List`,
      plural: definition.plural,
      singular: definition.singular,
      shortNames: [...definition.shortNames],
      categories: ["coral"],
    },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [...definition.columns],
        schema: { openAPIV3Schema: rootSchema(definition) },
      },
    ],
  },
})
