import { randomUUID } from "node:crypto";
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { canRead } from "../../domain/caller.js";
import { isResourceId } from "../../domain/plain-text.js";
import {
  findWebhookSubscription,
  listWebhookSubscriptions,
  type WebhookSubscriptionRecord,
} from "../../projections/webhook-subscriptions.js";
import { readWebhookSubscription } from "../entity-streams.js";
import type { SubscriptionRequest } from "../webhook-commands.js";
import { type Connection, pageRequest, toConnection } from "./connection.js";
import { callerOf, type GraphqlContext } from "./context.js";
import { NotFoundError, refusalError } from "./errors.js";
import { toGlobalId } from "./global-id.js";
import { AS_OF_DESCRIPTION, parseTimeArgument } from "./time-argument.js";
import { readableEndpoint } from "./webhook-endpoint-resolver.js";
import {
  CreateWebhookSubscriptionInput,
  CreateWebhookSubscriptionSuccess,
  DeleteWebhookSubscriptionInput,
  DeleteWebhookSubscriptionSuccess,
  WebhookSubscriptionConnection,
  WebhookSubscriptionsArgs,
  WebhookSubscriptionType,
} from "./webhook-subscription-types.js";

/** Queries read the webhook subscriptions read model; mutations are commands (webhook-commands.ts). */
@Resolver(() => WebhookSubscriptionType)
export class WebhookSubscriptionResolver {
  @Query(() => WebhookSubscriptionType)
  async webhookSubscription(
    @Arg("subscriptionId", () => String) subscriptionId: string,
    @Arg("asOf", () => String, { nullable: true, description: AS_OF_DESCRIPTION }) asOf: string | null | undefined,
    @Ctx() context: GraphqlContext,
  ): Promise<WebhookSubscriptionRecord> {
    const time = parseTimeArgument("asOf", asOf);
    return time === undefined
      ? readableSubscription(context, subscriptionId)
      : readableSubscriptionAsOf(context, subscriptionId, time);
  }

  @Query(() => WebhookSubscriptionConnection, {
    description: "The subscriptions of one of your endpoints, oldest first.",
  })
  async webhookSubscriptions(
    @Args(() => WebhookSubscriptionsArgs) args: WebhookSubscriptionsArgs,
    @Ctx() context: GraphqlContext,
  ): Promise<Connection<WebhookSubscriptionRecord>> {
    const request = pageRequest(args);
    const endpoint = await readableEndpoint(context, args.webhookId);
    const page = await listWebhookSubscriptions(context.db, endpoint.webhookId, request);
    return toConnection(
      page,
      (row) => ({ createdAt: row.createdAt, id: row.subscriptionId }),
      (row) => row,
    );
  }

  @Mutation(() => CreateWebhookSubscriptionSuccess)
  async createWebhookSubscription(
    @Arg("input", () => CreateWebhookSubscriptionInput) input: CreateWebhookSubscriptionInput,
    @Ctx() context: GraphqlContext,
  ): Promise<{ webhookSubscription: WebhookSubscriptionRecord }> {
    const { webhookId, type, actions, collectionId } = input;
    const subscription = await subscriptionCommand(context, {
      type: "CreateWebhookSubscription",
      subscriptionId: randomUUID(),
      webhookId,
      eventType: type,
      actions,
      collectionId,
    });
    return { webhookSubscription: subscription };
  }

  @Mutation(() => DeleteWebhookSubscriptionSuccess)
  async deleteWebhookSubscription(
    @Arg("input", () => DeleteWebhookSubscriptionInput) input: DeleteWebhookSubscriptionInput,
    @Ctx() context: GraphqlContext,
  ): Promise<DeleteWebhookSubscriptionSuccess> {
    await subscriptionCommand(context, {
      type: "DeleteWebhookSubscription",
      webhookId: input.webhookId,
      subscriptionId: input.subscriptionId,
    });
    return { success: true };
  }

  @FieldResolver(() => ID)
  id(@Root() subscription: WebhookSubscriptionRecord): string {
    return toGlobalId("WebhookSubscription", subscription.subscriptionId);
  }
}

/** A subscription the caller may read; anyone else's answers NOT_FOUND. */
export async function readableSubscription(
  context: GraphqlContext,
  subscriptionId: string,
): Promise<WebhookSubscriptionRecord> {
  const caller = callerOf(context);
  const subscription = isResourceId(subscriptionId)
    ? await findWebhookSubscription(context.db, subscriptionId)
    : undefined;
  if (!subscription || !canRead(caller, subscription.subscriber))
    throw new NotFoundError("webhook subscription not found");
  return subscription;
}

/** A subscription as it stood at `asOf`, folded from its stream. */
async function readableSubscriptionAsOf(
  context: GraphqlContext,
  subscriptionId: string,
  asOf: number,
): Promise<WebhookSubscriptionRecord> {
  const caller = callerOf(context);
  const subscription = isResourceId(subscriptionId)
    ? await readWebhookSubscription(context.store, subscriptionId, asOf)
    : undefined;
  if (!subscription || subscription.deleted || !canRead(caller, subscription.subscriber))
    throw new NotFoundError("webhook subscription not found");
  return subscription;
}

async function subscriptionCommand(
  context: GraphqlContext,
  request: SubscriptionRequest,
): Promise<WebhookSubscriptionRecord> {
  const outcome = await context.commands.subscription(callerOf(context), request);
  if (!outcome.ok) throw refusalError(outcome.error);
  return outcome.state;
}
