import type { ApolloServerPlugin } from "@apollo/server";
import type { FastifyInstance } from "fastify";
import { type DocumentNode, GraphQLError, type GraphQLSchema, Kind, parse, visit } from "graphql";
import { getOrCreate } from "../../domain/get-or-create.js";
import { jsonBytesOver } from "./json-size.js";
import { type ListBounds, listBounds } from "./list-bounds.js";
import { type CostLimits, measureOperation } from "./query-cost.js";

/**
 * The limits on one GraphQL request (README, "Webhook management"). The cheap ones come first, on
 * the text and the parsed document before validation (whose overlapping-fields rule is quadratic
 * in the fields of a document: 600 repeated fields took a second); depth, cost and aliases come
 * after validation, with the variables.
 */
export interface QueryLimits extends CostLimits {
  /** The document's text in UTF-8. */
  readonly maxDocumentBytes: number;
  /** Lexical tokens, counted by the parser as it goes (`parse(source, { maxTokens })`). */
  readonly maxTokens: number;
  /** Field selections written in the document, aliased or not, fragments included. */
  readonly maxFields: number;
  /** The JSON answer, in bytes; a larger one is replaced by a RESPONSE_TOO_LARGE error. */
  readonly maxResponseBytes: number;
}

/**
 * The GraphiQL introspection query (getIntrospectionQuery with every option) measures 2 KB, 181
 * tokens, 70 fields, 15 levels and a cost of 15,691 on herald's schema: the limits leave it room.
 */
export const DEFAULT_QUERY_LIMITS: Omit<QueryLimits, "maxResponseBytes"> = {
  maxDocumentBytes: 32_768,
  maxTokens: 2_500,
  maxFields: 200,
  maxAliases: 50,
  maxDepth: 20,
  maxCost: 50_000,
};

/**
 * Bytes and fields, checked on the request before Apollo sees it: an error thrown by a plugin
 * before validation would answer 500. A document that does not parse is left to Apollo, which
 * parses it again (with the same token limit) and says why.
 */
export function registerDocumentLimits(http: FastifyInstance, path: string, limits: QueryLimits): void {
  http.addHook("preHandler", async (request, reply) => {
    if (request.routeOptions.url !== path) return;
    const source = documentOf(request.method === "GET" ? request.query : request.body);
    if (source === undefined) return;
    const refusal = documentRefusal(source, limits);
    if (refusal)
      return reply
        .code(400)
        .send({ errors: [{ message: refusal, extensions: { code: "BAD_USER_INPUT", field: "query" } }] });
  });
}

function documentOf(payload: unknown): string | undefined {
  const query = payload !== null && typeof payload === "object" ? (payload as { query?: unknown }).query : undefined;
  return typeof query === "string" ? query : undefined;
}

function documentRefusal(source: string, limits: QueryLimits): string | undefined {
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > limits.maxDocumentBytes)
    return `the query is ${bytes} bytes; at most ${limits.maxDocumentBytes} are allowed`;
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.maxTokens });
  } catch {
    return undefined;
  }
  const fields = countFields(document);
  return fields > limits.maxFields
    ? `the query selects ${fields} fields; at most ${limits.maxFields} are allowed`
    : undefined;
}

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  const bounds = new WeakMap<GraphQLSchema, ListBounds>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (!operation) return;
          const schemaBounds = getOrCreate(bounds, schema, () => listBounds(schema));
          const measured = measureOperation(
            { schema, document, operation, variables: request.variables ?? {}, bounds: schemaBounds },
            limits,
          );
          if (!measured.ok) throw tooBig(measured.reason);
        },
        async willSendResponse({ response, operation }) {
          if (response.body.kind !== "single") return;
          const bytes = jsonBytesOver(response.body.singleResult, limits.maxResponseBytes);
          if (bytes === undefined) return;
          const mutation = operation?.operation === "mutation";
          response.body = {
            kind: "single",
            singleResult: {
              errors: [
                {
                  message:
                    `the answer is more than ${limits.maxResponseBytes} bytes (HERALD_GRAPHQL_MAX_RESPONSE_BYTES): ask for fewer items (first) or fields` +
                    (mutation ? "; the mutation took effect, read its outcome with a query" : ""),
                  extensions: { code: "RESPONSE_TOO_LARGE" },
                },
              ],
            },
          };
          // A mutation's changes stand, so its answer is not a bad request.
          if (!mutation) response.http.status = 400;
        },
      };
    },
  };
}

function tooBig(message: string): GraphQLError {
  // Without an explicit status Apollo answers errors thrown here with 500.
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", field: "query", http: { status: 400 } } });
}

function countFields(document: DocumentNode): number {
  let fields = 0;
  visit(document, {
    [Kind.FIELD]() {
      fields++;
    },
  });
  return fields;
}
