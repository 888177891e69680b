import type { ApolloServerPlugin } from "@apollo/server";
import {
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from "graphql";
import { DEFAULT_PAGE_SIZE } from "../../projections/keyset-page.js";
import { MAX_PAGE_SIZE } from "./connection.js";

export interface QueryLimits {
  /** Deepest field nesting, introspection excluded. */
  readonly maxDepth: number;
  /** Estimated fields resolved: each field costs 1, a list field's selection costs `first`/`last` times over. */
  readonly maxComplexity: number;
}

/**
 * Refuses operations that are too deep or too costly before they run. It works on the operation
 * with its variables (a validation rule sees no variables), so `first: $n` is priced by `$n`.
 */
export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (!operation) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          const root = schema.getRootType(operation.operation) ?? undefined;
          const { depth, cost } = measure(operation.selectionSet, root, { schema, fragments, variables: request.variables ?? {} });
          if (depth > limits.maxDepth) throw tooBig(`the query is ${depth} levels deep; at most ${limits.maxDepth} are allowed`);
          if (cost > limits.maxComplexity) throw tooBig(`the query costs ${cost}; at most ${limits.maxComplexity} is allowed`);
        },
      };
    },
  };
}

function tooBig(message: string): GraphQLError {
  // Without an explicit status Apollo answers errors thrown here with 500.
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", field: "query", http: { status: 400 } } });
}

interface Walk {
  readonly schema: GraphQLSchema;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly variables: Readonly<Record<string, unknown>>;
}

function measure(selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, walk: Walk): { depth: number; cost: number } {
  let depth = 0;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    let inner: { depth: number; cost: number } | undefined;
    if (selection.kind === Kind.FIELD) {
      // Introspection is bounded by the schema itself, and tools send deep introspection queries.
      if (selection.name.value.startsWith("__")) continue;
      const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
      const child = selection.selectionSet && field ? measure(selection.selectionSet, getNamedType(field.type), walk) : { depth: 0, cost: 0 };
      const paged = field?.args.some((arg) => arg.name === "first") ?? false;
      inner = { depth: child.depth + 1, cost: 1 + (paged ? pageSize(selection, walk.variables) : 1) * child.cost };
    } else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : walk.fragments.get(selection.name.value);
      // Fragment cycles and unknown fragments are refused by validation before this runs.
      if (!fragment) continue;
      const type = fragment.typeCondition ? walk.schema.getType(fragment.typeCondition.name.value) : parent;
      inner = measure(fragment.selectionSet, type ?? undefined, walk);
    }
    depth = Math.max(depth, inner.depth);
    cost += inner.cost;
  }
  return { depth, cost };
}

/** How many items a paged field returns at most: its `first` or `last`, else the default page. */
function pageSize(field: FieldNode, variables: Readonly<Record<string, unknown>>): number {
  const size = field.arguments?.find((arg) => arg.name.value === "first" || arg.name.value === "last")?.value;
  if (!size) return DEFAULT_PAGE_SIZE;
  const value = size.kind === Kind.VARIABLE ? variables[size.name.value] : size.kind === Kind.INT ? Number(size.value) : undefined;
  return typeof value === "number" && value >= 0 ? Math.min(value, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
}
