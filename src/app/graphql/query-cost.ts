import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
} from "graphql";
import type { ListBounds } from "./list-bounds.js";

export interface CostLimits {
  /** Deepest field nesting, introspection included. */
  readonly maxDepth: number;
  /** Fields resolved at most: each field costs 1 each time it resolves, a list's items as many times as the list's bound. */
  readonly maxCost: number;
  /** Aliased fields in the document. */
  readonly maxAliases: number;
}

export type CostMeasure =
  | {
      readonly ok: true;
      readonly depth: number;
      readonly cost: number;
      readonly aliases: number;
      readonly visits: number;
    }
  | { readonly ok: false; readonly reason: string; readonly visits: number };

export interface CostInput {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** As the request sent them: `first: $n` is priced by `$n`, or by its default in the operation. */
  readonly variables: Readonly<Record<string, unknown>>;
  readonly bounds: ListBounds;
}

/**
 * Depth, cost and aliases of one operation, in time linear in the document: each selection is
 * visited at most twice (`visits` counts them), because a fragment's depth and cost are computed
 * the first time it is spread and remembered (its type condition fixes the type it is measured on),
 * once inside an enumeration of the schema and once outside (list-bounds.ts prices the two apart). The walk
 * stops at the first limit passed: costs only add and multiply by bounds of at least 1, so a part
 * over the limit means the whole is.
 */
export function measureOperation(input: CostInput, limits: CostLimits): CostMeasure {
  const walk = new CostWalk(input, limits);
  try {
    const root = input.schema.getRootType(input.operation.operation) ?? undefined;
    const { depth, cost } = walk.selectionSet(input.operation.selectionSet, root, 0, false);
    return { ok: true, depth, cost: Math.ceil(cost), aliases: walk.aliases, visits: walk.visits };
  } catch (error) {
    if (error instanceof LimitPassed) return { ok: false, reason: error.message, visits: walk.visits };
    throw error;
  }
}

class LimitPassed extends Error {}

interface Measured {
  readonly depth: number;
  readonly cost: number;
}

class CostWalk {
  visits = 0;
  aliases = 0;
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #measured = new Map<string, Measured>();
  readonly #variables: Readonly<Record<string, unknown>>;

  constructor(
    private readonly input: CostInput,
    private readonly limits: CostLimits,
  ) {
    // Values that do not coerce fail the request anyway; they are priced as sent.
    this.#variables =
      getVariableValues(input.schema, input.operation.variableDefinitions ?? [], input.variables).coerced ??
      input.variables;
    for (const definition of input.document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
    }
  }

  /** `above`: the fields above this selection set within what is being measured (operation or fragment). */
  selectionSet(
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    above: number,
    census: boolean,
  ): Measured {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      this.visits++;
      let inner: Measured;
      if (selection.kind === Kind.FIELD) inner = this.#field(selection, parent, above, census);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.input.schema.getType(selection.typeCondition.name.value) : parent;
        inner = this.selectionSet(selection.selectionSet, type ?? undefined, above, census);
      } else inner = this.#fragment(selection.name.value, above, census);
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
      if (cost > this.limits.maxCost)
        throw new LimitPassed(`the query costs more than ${this.limits.maxCost}, the most allowed`);
    }
    return { depth, cost };
  }

  #field(node: FieldNode, parent: GraphQLNamedType | undefined, above: number, census: boolean): Measured {
    if (node.alias && ++this.aliases > this.limits.maxAliases) {
      throw new LimitPassed(`the query has more than ${this.limits.maxAliases} aliases, the most allowed`);
    }
    if (above + 1 > this.limits.maxDepth)
      throw new LimitPassed(`the query is more than ${this.limits.maxDepth} levels deep, the most allowed`);
    const field = parent && fieldOf(this.input.schema, parent, node.name.value);
    // Unknown fields are refused by validation before this runs; they cost what a leaf costs.
    if (!field || !parent) return { depth: 1, cost: 1 };
    const bound = this.input.bounds(parent, field, node, this.#variables, census);
    const child = node.selectionSet
      ? this.selectionSet(node.selectionSet, getNamedType(field.type), above + 1, bound.census)
      : undefined;
    // A list of leaves costs its items; a connection's fields (pageInfo, total) are priced as if per item.
    const each = child ? child.cost : isListType(getNullableType(field.type)) ? 1 : 0;
    return { depth: 1 + (child?.depth ?? 0), cost: 1 + Math.max(bound.items, 1) * each };
  }

  #fragment(name: string, above: number, census: boolean): Measured {
    const key = `${census}:${name}`;
    let measured = this.#measured.get(key);
    if (!measured) {
      const fragment = this.#fragments.get(name);
      // Unknown fragments and cycles are refused by validation before this runs.
      if (!fragment) return { depth: 0, cost: 0 };
      this.#measured.set(key, { depth: 0, cost: 0 });
      measured = this.selectionSet(
        fragment.selectionSet,
        this.input.schema.getType(fragment.typeCondition.name.value) ?? undefined,
        0,
        census,
      );
      this.#measured.set(key, measured);
    }
    if (above + measured.depth > this.limits.maxDepth) {
      throw new LimitPassed(`the query is more than ${this.limits.maxDepth} levels deep, the most allowed`);
    }
    return measured;
  }
}

/** The field's definition, the introspection fields (__schema, __type, __typename) included. */
function fieldOf(
  schema: GraphQLSchema,
  parent: GraphQLNamedType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name && isCompositeType(parent)) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}
