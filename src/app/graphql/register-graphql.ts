import { ApolloServer } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDisableSuggestions } from "@apollo/server/plugin/disableSuggestions";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { buildSchema } from "type-graphql";
import type { SiweTokenVerifier } from "../../adapters/auth/siwe-token.js";
import type { SecretBox } from "../../adapters/crypto/secret-box.js";
import type { HeraldTables } from "../../adapters/db/schema.js";
import type { EventStore } from "../../adapters/eventstore/event-store.js";
import type { Caller } from "../../domain/caller.js";
import type { DeliveryRecovery } from "../delivery-recovery.js";
import type { WebhookCommands } from "../webhook-commands.js";
import { AuditResolver } from "./audit-resolver.js";
import type { GraphqlContext } from "./context.js";
import { DeliveryResolver } from "./delivery-resolver.js";
import { PUBLIC_ERROR_CODES } from "./errors.js";
import { NodeResolver } from "./node-resolver.js";
import { DEFAULT_QUERY_LIMITS, type QueryLimits, queryLimitsPlugin, registerDocumentLimits } from "./query-limits.js";
import { ViewerResolver } from "./viewer-resolver.js";
import { WebhookEndpointResolver } from "./webhook-endpoint-resolver.js";
import { WebhookSubscriptionResolver } from "./webhook-subscription-resolver.js";

export interface GraphqlDependencies {
  readonly commands: WebhookCommands;
  readonly recovery: DeliveryRecovery;
  readonly db: Kysely<HeraldTables>;
  readonly store: EventStore;
  readonly secrets: SecretBox;
  readonly verifier: SiweTokenVerifier;
  /** Lower-case addresses (config). */
  readonly adminAddresses: readonly string[];
  readonly auditorAddresses: readonly string[];
  /** Introspection and suggestions (HERALD_PLAYGROUND). */
  readonly playground: boolean;
  /** HERALD_GRAPHQL_MAX_RESPONSE_BYTES. */
  readonly maxResponseBytes: number;
  readonly logger: Logger;
}

export const GRAPHQL_PATH = "/graphql";

/** The webhook management API's schema, from its resolvers. */
export function buildHeraldSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      WebhookEndpointResolver,
      WebhookSubscriptionResolver,
      NodeResolver,
      AuditResolver,
      DeliveryResolver,
      ViewerResolver,
    ],
    // type-graphql otherwise copies the whole input, secrets included, into validation errors.
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
}

/** Mounts the webhook management API (type-graphql on Apollo Server) at /graphql. */
export async function registerGraphql(http: FastifyInstance, deps: GraphqlDependencies): Promise<void> {
  const schema = await buildHeraldSchema();
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, maxResponseBytes: deps.maxResponseBytes };
  registerDocumentLimits(http, GRAPHQL_PATH, limits);
  const apollo = new ApolloServer<GraphqlContext>({
    schema,
    introspection: deps.playground,
    parseOptions: { maxTokens: limits.maxTokens },
    includeStacktraceInErrorResponses: false,
    // Apollo would otherwise (unless NODE_ENV=test) stop itself on SIGTERM and send the signal again,
    // which main.ts takes for a second signal and exits 1 mid-drain. main.ts owns shutdown.
    stopOnTerminationSignals: false,
    logger: apolloLogger(deps.logger),
    plugins: [
      fastifyApolloDrainPlugin(http),
      // The default landing page loads Apollo's sandbox from a CDN.
      ApolloServerPluginLandingPageDisabled(),
      ...(deps.playground ? [] : [ApolloServerPluginDisableSuggestions()]),
      queryLimitsPlugin(limits),
    ],
    formatError: (formatted, error) => {
      const code = formatted.extensions?.code;
      if (typeof code === "string" && PUBLIC_ERROR_CODES.has(code)) return formatted;
      // A fault of ours: log it (never the variables, which may hold secrets) and tell the client nothing more.
      deps.logger.error({ err: unwrapResolverError(error), path: formatted.path }, "GraphQL request failed");
      return { message: "internal error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
    },
  });
  await apollo.start();
  await http.register(fastifyApollo(apollo), {
    path: GRAPHQL_PATH,
    context: async (request) => ({
      authentication: await authenticate(request, deps),
      commands: deps.commands,
      recovery: deps.recovery,
      db: deps.db,
      store: deps.store,
      secrets: deps.secrets,
    }),
  });
}

async function authenticate(
  request: FastifyRequest,
  deps: GraphqlDependencies,
): Promise<GraphqlContext["authentication"]> {
  const header = request.headers.authorization;
  if (!header) return { ok: false, reason: "the authorization header is missing: send Bearer <SIWE token>" };
  // The Asset Register's SDK sends the token as it is; `Bearer ` in front is accepted too.
  const match = /^(?:Bearer\s+)?(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return { ok: false, reason: "the authorization header must be [Bearer ]<SIWE token>" };
  const verification = await deps.verifier.verify(match[1]);
  if (!verification.ok) return verification;
  const address = verification.address.toLowerCase();
  const role: Caller["role"] = deps.adminAddresses.includes(address)
    ? "admin"
    : deps.auditorAddresses.includes(address)
      ? "auditor"
      : "subscriber";
  return { ok: true, caller: { address: verification.address, role } };
}

/** Apollo's own messages go to herald's log, at the same levels. */
function apolloLogger(logger: Logger) {
  const child = logger.child({ component: "graphql" });
  return {
    debug: (message: string) => child.debug(message),
    info: (message: string) => child.info(message),
    warn: (message: string) => child.warn(message),
    error: (message: string) => child.error(message),
  };
}
