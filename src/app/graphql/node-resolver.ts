import { Arg, Ctx, Query, Resolver } from "type-graphql";
import type { WebhookEndpointRecord } from "../../projections/webhook-endpoints.js";
import type { WebhookSubscriptionRecord } from "../../projections/webhook-subscriptions.js";
import { callerOf, type GraphqlContext } from "./context.js";
import { NotFoundError } from "./errors.js";
import { fromGlobalId } from "./global-id.js";
import { Node } from "./node.js";
import { readableEndpoint } from "./webhook-endpoint-resolver.js";
import { readableSubscription } from "./webhook-subscription-resolver.js";

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    description: "Fetches anything by its global id (typed String!, as in the Asset Register's schema).",
  })
  async node(
    @Arg("id", () => String) id: string,
    @Ctx() context: GraphqlContext,
  ): Promise<WebhookEndpointRecord | WebhookSubscriptionRecord> {
    callerOf(context);
    const decoded = fromGlobalId(id);
    if (!decoded) throw new NotFoundError("no node has this id");
    return decoded.type === "WebhookEndpoint"
      ? readableEndpoint(context, decoded.id)
      : readableSubscription(context, decoded.id);
  }
}
