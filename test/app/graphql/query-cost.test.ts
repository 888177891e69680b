import "reflect-metadata";
import fc from "fast-check";
import {
  buildSchema,
  type GraphQLSchema,
  getIntrospectionQuery,
  getOperationAST,
  Kind,
  parse,
  validate,
  visit,
} from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { type ListBounds, listBounds } from "../../../src/app/graphql/list-bounds.js";
import { type CostLimits, type CostMeasure, measureOperation } from "../../../src/app/graphql/query-cost.js";
import { DEFAULT_QUERY_LIMITS } from "../../../src/app/graphql/query-limits.js";
import { buildHeraldSchema } from "../../../src/app/graphql/register-graphql.js";

const UNLIMITED: CostLimits = {
  maxDepth: Number.MAX_SAFE_INTEGER,
  maxCost: Number.MAX_SAFE_INTEGER,
  maxAliases: Number.MAX_SAFE_INTEGER,
};

/** Selections written in the document: fields, fragment spreads and inline fragments. */
function selectionsIn(source: string): number {
  let selections = 0;
  visit(parse(source), {
    [Kind.FIELD]: () => void selections++,
    [Kind.FRAGMENT_SPREAD]: () => void selections++,
    [Kind.INLINE_FRAGMENT]: () => void selections++,
  });
  return selections;
}

/** Fragments F0 … Fn, each spreading the next twice; the last selects `leaves`. */
function fragmentChain(levels: number, leaves: readonly string[], aliases: readonly string[]): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  const root = aliases.map((field, i) => `a${i}: ${field}`).join(" ");
  return `query { ...F0 ${root} }\n${fragments.join("\n")}\nfragment F${levels} on Query { ${leaves.join(" ")} }`;
}

/** The same document with every spread written out in place: 2^levels copies of the leaves. */
function expanded(levels: number, leaves: readonly string[], aliases: readonly string[]): string {
  let body = leaves.join(" ");
  for (let i = levels - 1; i >= 0; i--) body = `... on Query { ${body} } ... on Query { ${body} }`;
  return `query { ${body} ${aliases.map((field, i) => `a${i}: ${field}`).join(" ")} }`;
}

const LEAVES = [
  "webhookEndpoints(first: 3) { edges { node { url status } } total }",
  "__schema { types { name fields { name args { name type { name } } } } }",
  '__type(name: "Query") { fields { name type { name ofType { name kind } } } }',
  'auditTrail(webhookId: "x", first: 5) { type data }',
  'deliveries(webhookId: "x", first: 2) { edges { node { attempts { number url } } } }',
  "__typename",
];

describe("GraphQL query cost", () => {
  let schema: GraphQLSchema;
  let bounds: ListBounds;
  const measure = (
    source: string,
    limits: CostLimits = DEFAULT_QUERY_LIMITS,
    variables: Record<string, unknown> = {},
  ): CostMeasure => {
    expect(validate(schema, parse(source)).map((error) => error.message)).toEqual([]);
    return measureUnvalidated(source, limits, variables);
  };
  /** For `first: 5.0`, valid since `first` is a Float, as in the Asset Register's schema. */
  const measureUnvalidated = (
    source: string,
    limits: CostLimits = DEFAULT_QUERY_LIMITS,
    variables: Record<string, unknown> = {},
  ): CostMeasure => {
    const document = parse(source);
    return measureOperation({ schema, document, operation: getOperationAST(document)!, variables, bounds }, limits);
  };

  beforeAll(async () => {
    schema = await buildHeraldSchema();
    bounds = listBounds(schema);
  });

  it("visits each selection of the document at most twice, whatever fragments, aliases and introspection it holds", () => {
    const documents = fc.record({
      levels: fc.integer({ min: 0, max: 40 }),
      leaves: fc.uniqueArray(fc.constantFrom(...LEAVES), { minLength: 1, maxLength: 3 }),
      aliases: fc.array(fc.constantFrom(...LEAVES), { maxLength: 30 }),
    });
    fc.assert(
      fc.property(documents, ({ levels, leaves, aliases }) => {
        const source = fragmentChain(levels, leaves, aliases);
        for (const limits of [DEFAULT_QUERY_LIMITS, UNLIMITED]) {
          // Twice: a fragment may be measured once inside an enumeration of the schema and once outside.
          expect(measure(source, limits).visits).toBeLessThanOrEqual(2 * selectionsIn(source));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("measures a document with fragments as the same document with every spread written out", () => {
    const documents = fc.record({
      levels: fc.integer({ min: 0, max: 5 }),
      leaves: fc.uniqueArray(fc.constantFrom(...LEAVES), { minLength: 1, maxLength: 3 }),
      aliases: fc.array(fc.constantFrom(...LEAVES), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(documents, ({ levels, leaves, aliases }) => {
        const { visits: _, ...withFragments } = measure(
          fragmentChain(levels, leaves, aliases),
          UNLIMITED,
        ) as CostMeasure & { visits: number };
        const { visits: __, ...written } = measure(expanded(levels, leaves, aliases), UNLIMITED) as CostMeasure & {
          visits: number;
        };
        expect(withFragments).toEqual(written);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses the 2^n fragment chain after a walk as long as the document", () => {
    const source = fragmentChain(26, ["webhookEndpoints { total }"], []);
    const measured = measure(source);
    expect(measured).toMatchObject({ ok: false, reason: expect.stringContaining("costs more than 50000") });
    expect(measured.visits).toBeLessThanOrEqual(selectionsIn(source));
  });

  it("counts introspection: GraphiQL's query fits with room, 200 aliased __schema do not", () => {
    const introspection = measure(
      getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true, descriptions: true }),
    );
    expect(introspection).toMatchObject({ ok: true, depth: 15 });
    if (!introspection.ok) return;
    expect(introspection.cost * 3).toBeLessThan(DEFAULT_QUERY_LIMITS.maxCost);
    expect(introspection.depth + 5).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.maxDepth);
    const schemas = (count: number) =>
      `{ ${Array.from({ length: count }, (_, i) => `s${i}: __schema { types { name fields { name type { name } } } }`).join(" ")} }`;
    expect(measure(schemas(200))).toMatchObject({ ok: false, reason: expect.stringContaining("aliases") });
    // Fewer aliases, each a deep walk of the schema: refused by cost.
    const deep = "__schema { types { fields { type { fields { args { type { name } } } } } } }";
    expect(measure(`{ a: ${deep} b: ${deep} }`)).toMatchObject({ ok: false, reason: expect.stringContaining("costs") });
  });

  it("prices every list by its bound: pages by first or last (INT, FLOAT or a variable), others by their cap", () => {
    const cost = (source: string, variables: Record<string, unknown> = {}) => {
      const measured = (source.includes(".0") ? measureUnvalidated : measure)(source, UNLIMITED, variables);
      return measured.ok ? measured.cost : Number.NaN;
    };
    // connection + edges + node + 1 field, per item
    expect(cost("{ webhookEndpoints(first: 5) { edges { node { url } } } }")).toBe(1 + 5 * 3);
    expect(cost("{ webhookEndpoints(first: 5.0) { edges { node { url } } } }")).toBe(1 + 5 * 3);
    expect(cost("query($n: Float) { webhookEndpoints(last: $n) { edges { node { url } } } }", { n: 5 })).toBe(
      1 + 5 * 3,
    );
    expect(cost("query($n: Float = 5) { webhookEndpoints(first: $n) { edges { node { url } } } }")).toBe(1 + 5 * 3);
    // No size given: the argument's default (10, as in the Asset Register's schema).
    expect(cost("{ webhookEndpoints { edges { node { url } } } }")).toBe(1 + 10 * 3);
    expect(cost("{ webhookEndpoints(first: 100000) { edges { node { url } } } }")).toBe(1 + 100 * 3);
    expect(cost('{ auditTrail(webhookId: "x") { type } }')).toBe(1 + 100);
    expect(cost('{ auditTrail(webhookId: "x", first: 7) { type } }')).toBe(1 + 7);
    expect(cost('{ delivery(deliveryId: "x") { attempts { number } } }')).toBe(1 + 1 + 25);
    expect(cost('{ delivery(deliveryId: "x") { attempts(first: 100) { number } } }')).toBe(1 + 1 + 100);
    expect(cost('{ webhookSubscription(subscriptionId: "x") { actions } }')).toBe(1 + 1 + 32);
    // 1,249 aliases of a page of audit events: refused long before.
    const trails = Array.from({ length: 1249 }, (_, i) => `t${i}: auditTrail(webhookId: "x") { type data }`).join(" ");
    expect(measure(`{ ${trails} }`)).toMatchObject({ ok: false });
    expect(measure(`{ ${trails.split(" t").slice(0, 6).join(" t")} }`)).toMatchObject({ ok: true });
  });

  it("refuses a schema with a list it cannot price", () => {
    expect(() => listBounds(buildSchema("type Query { names: [String!]! }"))).toThrow(
      /Query.names has no stated bound/,
    );
  });
});
