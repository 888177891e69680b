import { randomUUID } from "node:crypto";
import { getAddress } from "ethers";
import { Arg, Args, Ctx, FieldResolver, Float, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { CommandOutcome } from "../../commands/handle-command.js";
import { canOpenSecrets, canRead } from "../../domain/caller.js";
import { isResourceId } from "../../domain/plain-text.js";
import { REDACTED } from "../../domain/redact-secrets.js";
import type { WebhookEndpoint } from "../../domain/webhook-endpoint.js";
import {
  findWebhookEndpoint,
  listWebhookEndpoints,
  type WebhookEndpointRecord,
} from "../../projections/webhook-endpoints.js";
import { readWebhookEndpoint } from "../entity-streams.js";
import type { EndpointRequest } from "../webhook-commands.js";
import { type Connection, pageRequest, toConnection } from "./connection.js";
import { callerOf, type GraphqlContext } from "./context.js";
import { BadUserInputError, ForbiddenError, NotFoundError, refusalError } from "./errors.js";
import { toGlobalId } from "./global-id.js";
import { AS_OF_DESCRIPTION, parseTimeArgument } from "./time-argument.js";
import {
  CreateWebhookEndpointInput,
  CreateWebhookEndpointSuccess,
  DeleteWebhookEndpointInput,
  DeleteWebhookEndpointSuccess,
  PauseWebhookEndpointInput,
  PauseWebhookEndpointSuccess,
  ResumeWebhookEndpointInput,
  ResumeWebhookEndpointSuccess,
  RotateWebhookEndpointApiKeyInput,
  RotateWebhookEndpointApiKeySuccess,
  UpdateWebhookEndpointInput,
  UpdateWebhookEndpointSuccess,
  WebhookEndpointDisabledReason,
  WebhookEndpointStatus,
  WebhookEndpointsArgs,
  WebhookEndpointsConnection,
  WebhookEndpointType,
} from "./webhook-endpoint-types.js";

/** Queries read the webhook endpoints read model; mutations are commands (webhook-commands.ts). */
@Resolver(() => WebhookEndpointType)
export class WebhookEndpointResolver {
  @Query(() => WebhookEndpointType)
  async webhookEndpoint(
    @Arg("webhookId", () => String) webhookId: string,
    @Arg("asOf", () => String, { nullable: true, description: AS_OF_DESCRIPTION }) asOf: string | null | undefined,
    @Ctx() context: GraphqlContext,
  ): Promise<WebhookEndpointRecord> {
    const time = parseTimeArgument("asOf", asOf);
    return time === undefined ? readableEndpoint(context, webhookId) : readableEndpointAsOf(context, webhookId, time);
  }

  @Query(() => WebhookEndpointsConnection, { description: "Your endpoints, oldest first; admins see everyone's." })
  async webhookEndpoints(
    @Args(() => WebhookEndpointsArgs) args: WebhookEndpointsArgs,
    @Ctx() context: GraphqlContext,
  ): Promise<Connection<WebhookEndpointRecord>> {
    const caller = callerOf(context);
    const request = pageRequest(args);
    let subscriber: string | undefined;
    if (args.subscriber != null) {
      try {
        subscriber = getAddress(args.subscriber.toLowerCase());
      } catch {
        throw new BadUserInputError("subscriber", "subscriber must be an Ethereum address");
      }
      if (caller.role === "subscriber" && subscriber !== caller.address) {
        throw new ForbiddenError("only admins and auditors may list another subscriber's endpoints");
      }
    }
    if (caller.role === "subscriber") subscriber = caller.address;
    const page = await listWebhookEndpoints(context.db, subscriber, request);
    return toConnection(
      page,
      (row) => ({ createdAt: row.createdAt, id: row.webhookId }),
      (row) => row,
    );
  }

  @Mutation(() => CreateWebhookEndpointSuccess)
  async createWebhookEndpoint(
    @Arg("input", () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Ctx() context: GraphqlContext,
  ): Promise<EndpointPayload> {
    return endpointCommand(context, {
      type: "CreateWebhookEndpoint",
      webhookId: randomUUID(),
      url: input.url,
      retries: input.retries,
      rateLimit: input.rateLimit,
    });
  }

  @Mutation(() => UpdateWebhookEndpointSuccess)
  async updateWebhookEndpoint(
    @Arg("input", () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() context: GraphqlContext,
  ): Promise<EndpointPayload> {
    return endpointCommand(context, {
      type: "UpdateWebhookEndpoint",
      webhookId: input.webhookId,
      url: input.url,
      retries: input.retries,
      rateLimit: input.rateLimit,
    });
  }

  @Mutation(() => RotateWebhookEndpointApiKeySuccess, { description: "A new API key and a new signing secret." })
  async rotateWebhookEndpointApiKey(
    @Arg("input", () => RotateWebhookEndpointApiKeyInput) input: RotateWebhookEndpointApiKeyInput,
    @Ctx() context: GraphqlContext,
  ): Promise<EndpointPayload> {
    return endpointCommand(context, { type: "RotateWebhookEndpointApiKey", webhookId: input.webhookId });
  }

  @Mutation(() => PauseWebhookEndpointSuccess, { description: "Deliveries wait until the endpoint is resumed." })
  async pauseWebhookEndpoint(
    @Arg("input", () => PauseWebhookEndpointInput) input: PauseWebhookEndpointInput,
    @Ctx() context: GraphqlContext,
  ): Promise<EndpointPayload> {
    return endpointCommand(context, { type: "PauseWebhookEndpoint", webhookId: input.webhookId });
  }

  @Mutation(() => ResumeWebhookEndpointSuccess, {
    description: "Deliveries start again; this also enables an endpoint herald disabled.",
  })
  async resumeWebhookEndpoint(
    @Arg("input", () => ResumeWebhookEndpointInput) input: ResumeWebhookEndpointInput,
    @Ctx() context: GraphqlContext,
  ): Promise<EndpointPayload> {
    return endpointCommand(context, { type: "ResumeWebhookEndpoint", webhookId: input.webhookId });
  }

  @Mutation(() => DeleteWebhookEndpointSuccess, { description: "Its subscriptions stop matching and are removed." })
  async deleteWebhookEndpoint(
    @Arg("input", () => DeleteWebhookEndpointInput) input: DeleteWebhookEndpointInput,
    @Ctx() context: GraphqlContext,
  ): Promise<DeleteWebhookEndpointSuccess> {
    await endpointCommand(context, { type: "DeleteWebhookEndpoint", webhookId: input.webhookId });
    return { success: true };
  }

  @FieldResolver(() => ID)
  id(@Root() endpoint: WebhookEndpointRecord): string {
    return toGlobalId("WebhookEndpoint", endpoint.webhookId);
  }

  @FieldResolver(() => String, {
    description: `Sent as x-api-key with every delivery. Only its owner sees it; others read "${REDACTED}".`,
  })
  apiKey(@Root() endpoint: WebhookEndpointRecord, @Ctx() context: GraphqlContext): string {
    return canOpenSecrets(callerOf(context), endpoint.subscriber) ? context.secrets.open(endpoint.apiKey) : REDACTED;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "Standard Webhooks signing secret (whsec_…). Only its owner sees it.",
  })
  signingSecret(@Root() endpoint: WebhookEndpointRecord, @Ctx() context: GraphqlContext): string | null {
    return canOpenSecrets(callerOf(context), endpoint.subscriber) ? context.secrets.open(endpoint.signingSecret) : null;
  }

  @FieldResolver(() => WebhookEndpointStatus)
  status(@Root() endpoint: WebhookEndpointRecord): WebhookEndpointStatus {
    if (endpoint.disabledReason) return WebhookEndpointStatus.DISABLED;
    if (endpoint.paused) return WebhookEndpointStatus.PAUSED;
    return endpoint.failingSince === undefined ? WebhookEndpointStatus.ACTIVE : WebhookEndpointStatus.FAILING;
  }

  @FieldResolver(() => WebhookEndpointDisabledReason, {
    nullable: true,
    description: "Why herald disabled the endpoint; null unless DISABLED.",
  })
  disabledReason(@Root() endpoint: WebhookEndpointRecord): WebhookEndpointDisabledReason | null {
    switch (endpoint.disabledReason) {
      case "gone":
        return WebhookEndpointDisabledReason.GONE;
      case "failing_too_long":
        return WebhookEndpointDisabledReason.FAILING_TOO_LONG;
      case undefined:
        return null;
    }
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description: "Milliseconds since the epoch: deliveries have failed since then without a success.",
  })
  failingSince(@Root() endpoint: WebhookEndpointRecord): number | null {
    return endpoint.failingSince ?? null;
  }
}

/** An endpoint the caller may read; anyone else's answers NOT_FOUND, so existence does not leak. */
export async function readableEndpoint(context: GraphqlContext, webhookId: string): Promise<WebhookEndpointRecord> {
  const caller = callerOf(context);
  const endpoint = isResourceId(webhookId) ? await findWebhookEndpoint(context.db, webhookId) : undefined;
  if (!endpoint || !canRead(caller, endpoint.subscriber)) throw new NotFoundError("webhook endpoint not found");
  return endpoint;
}

/**
 * An endpoint as it stood at `asOf`, folded from its stream: a deleted endpoint is found as of a
 * time before its deletion, and one that did not exist yet is not found.
 */
async function readableEndpointAsOf(
  context: GraphqlContext,
  webhookId: string,
  asOf: number,
): Promise<WebhookEndpointRecord> {
  const caller = callerOf(context);
  const endpoint = isResourceId(webhookId) ? await readWebhookEndpoint(context.store, webhookId, asOf) : undefined;
  if (!endpoint || endpoint.deleted || !canRead(caller, endpoint.subscriber))
    throw new NotFoundError("webhook endpoint not found");
  return endpoint;
}

/** Roots are records: the type's computed fields come from the field resolvers above. */
type EndpointPayload = { webhookEndpoint: WebhookEndpointRecord };

async function endpointCommand(context: GraphqlContext, request: EndpointRequest): Promise<EndpointPayload> {
  const outcome: CommandOutcome<WebhookEndpoint> = await context.commands.endpoint(callerOf(context), request);
  if (!outcome.ok) throw refusalError(outcome.error);
  return { webhookEndpoint: outcome.state };
}
