import {
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNullableType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
} from "graphql";
import { MAX_ACTIONS } from "../../domain/webhook-subscription.js";
import { DEFAULT_PAGE_SIZE } from "../../projections/keyset-page.js";
import { MAX_PAGE_SIZE } from "./connection.js";

/**
 * How many items a field of the schema answers at most, for the cost of a query (query-cost.ts):
 * a paged field (one with `first`/`last`) by the page asked for, every other list by a stated cap.
 * Building the table refuses a schema with a list it cannot price, so no list goes unpriced.
 *
 * Introspection lists are bounded by the schema itself, and most tightly where a query enumerates
 * it: `__schema { types { fields { args } } }` lists every type once, every field of every type once
 * and every argument once, so there the lists are priced by the schema's averages (summed over the
 * enumeration, the schema's totals: a bound, not a guess; a list is never priced below one item).
 * A type reached by reference (`type`, `ofType`, `interfaces`, `__type(name:)`) may be the
 * largest, so below it lists cost their maximum.
 * `census` says whether the parent objects are such an enumeration.
 */
export type ListBounds = (
  parent: GraphQLNamedType,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Readonly<Record<string, unknown>>,
  census: boolean,
) => ListBound;

export interface ListBound {
  /** Items at most (on average over a census). */
  readonly items: number;
  /** Whether the items are a census: each of the schema's elements of their kind once. */
  readonly census: boolean;
}

/** The ids a recoverDeliveries answer is priced at; longer answers meet the answer-size cap. */
export const PRICED_RECOVERED_DELIVERIES = 1_000;

interface ListCap {
  readonly max: number;
  /** Per parent, over a census of the parents. */
  readonly average: number;
  /** The items are each of the schema's elements of their kind once, when the parents are. */
  readonly census: boolean;
}

const ONE: ListBound = { items: 1, census: false };

export function listBounds(schema: GraphQLSchema): ListBounds {
  const caps = listCaps(schema);
  return (parent, field, node, variables, census) => {
    // The schema object is one: a census of itself.
    if (field === SchemaMetaFieldDef) return { items: 1, census: true };
    if (isPaged(field)) return { items: pageSize(field, node, variables), census: false };
    const cap = isListType(getNullableType(field.type)) ? caps.get(`${parent.name}.${field.name}`) : undefined;
    if (!cap) return ONE;
    return { items: census ? cap.average : cap.max, census: census && cap.census };
  };
}

/** Every unpaged list field of the schema (introspection included) with its cap; throws on one without. */
function listCaps(schema: GraphQLSchema): Map<string, ListCap> {
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  const fieldsOf = (type: GraphQLNamedType) =>
    isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
  const fields = types.flatMap(fieldsOf);
  const over = <T>(parents: readonly T[], count: (parent: T) => number, census: boolean): ListCap => {
    const counts = parents.map(count);
    const total = counts.reduce((sum, n) => sum + n, 0);
    return { max: Math.max(0, ...counts), average: parents.length === 0 ? 0 : total / parents.length, census };
  };
  const fixed = (items: number): ListCap => ({ max: items, average: items, census: false });
  const caps = new Map<string, ListCap>([
    ["__Schema.types", { max: types.length, average: types.length, census: true }],
    ["__Schema.directives", { max: directives.length, average: directives.length, census: true }],
    ["__Type.fields", over(types, (type) => fieldsOf(type).length, true)],
    [
      "__Type.inputFields",
      over(types, (type) => (isInputObjectType(type) ? Object.keys(type.getFields()).length : 0), true),
    ],
    ["__Type.enumValues", over(types, (type) => (isEnumType(type) ? type.getValues().length : 0), true)],
    // Types by reference: one may be listed by many.
    [
      "__Type.interfaces",
      over(types, (type) => (isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().length : 0), false),
    ],
    [
      "__Type.possibleTypes",
      over(types, (type) => (isAbstractType(type) ? schema.getPossibleTypes(type).length : 0), false),
    ],
    ["__Field.args", over(fields, (field) => field.args.length, true)],
    ["__Directive.args", over(directives, (directive) => directive.args.length, true)],
    ["__Directive.locations", over(directives, (directive) => directive.locations.length, true)],
    ["WebhookSubscription.actions", fixed(MAX_ACTIONS)],
    ["RecoverDeliveriesPayload.deliveryIds", fixed(PRICED_RECOVERED_DELIVERIES)],
  ]);
  for (const type of types) {
    for (const field of fieldsOf(type)) {
      const key = `${type.name}.${field.name}`;
      if (!isListType(getNullableType(field.type)) || isPaged(field) || caps.has(key)) continue;
      // A connection's edges are as many as its page, which is priced on the connection field.
      if (type.name.endsWith("Connection") && field.name === "edges") caps.set(key, fixed(1));
      else throw new Error(`the list ${key} has no stated bound: page it (first/after) or cap it in list-bounds.ts`);
    }
  }
  return caps;
}

const isPaged = (field: GraphQLField<unknown, unknown>) =>
  field.args.some((arg) => arg.name === "first" || arg.name === "last");

/**
 * The page a paged field answers at most: its `first` or `last` (a literal, INT or FLOAT, or a
 * variable), else the argument's default or the default page; anything else is priced as the largest page.
 */
function pageSize(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  const given = node.arguments?.find((arg) => arg.name.value === "first" || arg.name.value === "last")?.value;
  const fallback = field.args.find((arg) => arg.name === "first")?.defaultValue;
  const value =
    given === undefined || given.kind === Kind.NULL
      ? (fallback ?? DEFAULT_PAGE_SIZE)
      : given.kind === Kind.VARIABLE
        ? (variables[given.name.value] ?? fallback ?? DEFAULT_PAGE_SIZE)
        : given.kind === Kind.INT || given.kind === Kind.FLOAT
          ? Number(given.value)
          : undefined;
  return typeof value === "number" && value >= 0 ? Math.min(Math.ceil(value), MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
}
