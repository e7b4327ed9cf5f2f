/**
 * Effect Schema → structural OpenAPI v3, the dialect CustomResourceDefinitions accept: every node
 * typed, no `$ref`, no `anyOf` of types, enums for literal unions, bounds and patterns from the
 * schema's checks, and the `kubernetes` annotation's default, CEL rules and list semantics as
 * `default` / `x-kubernetes-*`. Fields with a default are optional in the CRD: the API server fills
 * them in. Anything the CRD dialect cannot express makes generation fail, so a schema change never
 * silently produces a looser CRD.
 */
import { SchemaAST } from "effect"
import type { CelRule } from "../../domain/KubernetesSchema.ts"

export interface OpenApiSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean"
  description?: string
  properties?: Record<string, OpenApiSchema>
  required?: Array<string>
  items?: OpenApiSchema
  additionalProperties?: OpenApiSchema
  enum?: Array<unknown>
  default?: unknown
  pattern?: string
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  minimum?: number
  maximum?: number
  "x-kubernetes-validations"?: Array<CelRule>
  "x-kubernetes-list-type"?: string
  "x-kubernetes-list-map-keys"?: Array<string>
}

export class UnsupportedSchema extends Error {
  constructor(path: string, what: string) {
    super(`cannot express ${what} at ${path || "<root>"} in a CRD schema`)
  }
}

const celString = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`

type JsonType = "string" | "number" | "integer" | "boolean" | "array" | "object"

/** Constraints from an AST node's checks, through each check's own JSON Schema translation. */
const constraints = (ast: SchemaAST.AST, type: JsonType): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const visit = (check: SchemaAST.Check<unknown>) => {
    if (check._tag === "FilterGroup") {
      for (const inner of check.checks) visit(inner)
      return
    }
    const translate = check.annotations?.toJsonSchema as
      | ((context: { type: JsonType }) => Record<string, unknown> | [Record<string, unknown>, boolean])
      | undefined
    if (!translate) return
    const result = translate({ type })
    Object.assign(out, Array.isArray(result) ? result[0] : result)
  }
  for (const check of ast.checks ?? []) visit(check)
  // Effect's integers carry the safe-integer bounds; the CRD keeps the upper one, so the API server
  // refuses numbers Coral could not represent exactly.
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum
  delete out.type
  return out
}

/** What the node's pattern check says it expects ("a label key"), for messages. */
const patternExpectation = (ast: SchemaAST.AST): string | undefined => {
  const check = (ast.checks ?? []).find(
    (c) => (c.annotations?.representation as { id?: string } | undefined)?.id === "effect/schema/isPattern",
  )
  return typeof check?.annotations?.expected === "string" ? check.annotations.expected : undefined
}

const isInteger = (ast: SchemaAST.AST) =>
  (ast.checks ?? []).some((check) => {
    const representation = check.annotations?.representation as { id?: string } | undefined
    return representation?.id === "effect/schema/isInt"
  })

const extras = (ast: SchemaAST.AST): OpenApiSchema => {
  const annotations = SchemaAST.resolve(ast)
  const kube = annotations?.kubernetes
  const out: OpenApiSchema = {}
  if (typeof annotations?.description === "string") out.description = annotations.description
  if (kube?.default !== undefined) out.default = kube.default
  if (kube?.validations?.length) out["x-kubernetes-validations"] = [...kube.validations]
  if (kube?.listType) out["x-kubernetes-list-type"] = kube.listType
  if (kube?.listMapKeys) out["x-kubernetes-list-map-keys"] = [...kube.listMapKeys]
  return out
}

const hasDefault = (ast: SchemaAST.AST) => SchemaAST.resolve(ast)?.kubernetes?.default !== undefined

const literalType = (path: string, value: unknown): JsonType => {
  switch (typeof value) {
    case "string":
      return "string"
    case "boolean":
      return "boolean"
    case "number":
      return Number.isInteger(value) ? "integer" : "number"
    default:
      throw new UnsupportedSchema(path, `the literal ${String(value)}`)
  }
}

const convert = (ast: SchemaAST.AST, path: string): OpenApiSchema => {
  switch (ast._tag) {
    case "String":
      return { type: "string", ...constraints(ast, "string"), ...extras(ast) }
    case "Number": {
      const type = isInteger(ast) ? "integer" : "number"
      return { type, ...constraints(ast, type), ...extras(ast) }
    }
    case "Boolean":
      return { type: "boolean", ...extras(ast) }
    case "Literal":
      return { type: literalType(path, ast.literal), enum: [ast.literal], ...extras(ast) }
    case "Union": {
      const literals = ast.types.map((member) =>
        member._tag === "Literal" ? member.literal : (undefined as unknown as SchemaAST.LiteralValue),
      )
      if (literals.some((literal) => literal === undefined))
        throw new UnsupportedSchema(path, "a union of non-literals")
      const types = new Set(literals.map((literal) => literalType(path, literal)))
      const [type] = types
      if (types.size !== 1 || !type)
        throw new UnsupportedSchema(path, "a union of literals of different types")
      return { type, enum: literals, ...extras(ast) }
    }
    case "Arrays": {
      const [item, ...more] = ast.rest
      if (ast.elements.length > 0 || !item || more.length > 0) throw new UnsupportedSchema(path, "a tuple")
      return {
        type: "array",
        items: convert(item, `${path}[]`),
        ...constraints(ast, "array"),
        ...extras(ast),
      }
    }
    case "Objects":
      return convertObject(ast, path)
    default:
      throw new UnsupportedSchema(path, `a ${ast._tag} node`)
  }
}

const convertObject = (ast: SchemaAST.Objects, path: string): OpenApiSchema => {
  const [index, ...moreIndexes] = ast.indexSignatures
  if (moreIndexes.length > 0 || (index && ast.propertySignatures.length > 0)) {
    throw new UnsupportedSchema(path, "an object with both fixed keys and a key pattern")
  }
  if (index) {
    if (index.parameter._tag !== "String") throw new UnsupportedSchema(path, "a map with non-string keys")
    const keyConstraints = constraints(index.parameter, "string")
    const keyPattern = keyConstraints.pattern
    const keyLength =
      typeof keyConstraints.maxLength === "number" ? ` && k.size() <= ${keyConstraints.maxLength}` : ""
    const keyRules: Array<CelRule> =
      typeof keyPattern === "string"
        ? [
            {
              rule: `self.all(k, k.matches(${celString(keyPattern)})${keyLength})`,
              message: `every key must be ${patternExpectation(index.parameter) ?? `matched by ${keyPattern}`}`,
            },
          ]
        : []
    const own = extras(ast)
    const validations = [...keyRules, ...(own["x-kubernetes-validations"] ?? [])]
    return {
      type: "object",
      additionalProperties: convert(index.type, `${path}{}`),
      ...constraints(ast, "object"),
      ...own,
      ...(validations.length ? { "x-kubernetes-validations": validations } : {}),
    }
  }
  const properties: Record<string, OpenApiSchema> = {}
  const required: Array<string> = []
  for (const property of ast.propertySignatures) {
    const name = String(property.name)
    properties[name] = convert(property.type, path ? `${path}.${name}` : name)
    if (!SchemaAST.isOptional(property.type) && !hasDefault(property.type)) required.push(name)
  }
  return { type: "object", properties, ...(required.length ? { required } : {}), ...extras(ast) }
}

/** The structural OpenAPI schema of `ast` (the schema's decoded side, which for Coral's resources is plain JSON). */
export const toOpenApi = (ast: SchemaAST.AST): OpenApiSchema => convert(ast, "")
