import { ArgsType, Field, Float, InputType, ObjectType } from "type-graphql";
import { ConnectionArgs, connectionType } from "./connection.js";
import { Node } from "./node.js";
import { CollectionIdScalar } from "./scalars.js";

/** The GraphQL shapes of webhook subscriptions, compatible with the Asset Register schema. */

/** `id` is resolved from the record (webhook-subscription-resolver.ts). */
@ObjectType("WebhookSubscription", { implements: Node })
export class WebhookSubscriptionType extends Node {
  @Field(() => String) subscriptionId!: string;
  @Field(() => String) webhookId!: string;
  @Field(() => String, { description: "The transaction event type, e.g. asset-link." }) type!: string;
  @Field(() => [String]) actions!: string[];
  @Field(() => CollectionIdScalar, { description: "<chainId>:<chainType>:<address>, lower case." })
  collectionId!: string;
  @Field(() => Float, { description: "Milliseconds since the epoch." }) createdAt!: number;
}

export const WebhookSubscriptionConnection = connectionType("WebhookSubscription", WebhookSubscriptionType);

@ArgsType()
export class WebhookSubscriptionsArgs extends ConnectionArgs {
  @Field(() => String) webhookId!: string;
}

@InputType("CreateWebhookSubscriptionInput")
export class CreateWebhookSubscriptionInput {
  @Field(() => String) webhookId!: string;
  @Field(() => String) type!: string;
  @Field(() => [String]) actions!: string[];
  @Field(() => CollectionIdScalar) collectionId!: string;
}

@InputType("DeleteWebhookSubscriptionInput")
export class DeleteWebhookSubscriptionInput {
  @Field(() => String) webhookId!: string;
  @Field(() => String) subscriptionId!: string;
}

@ObjectType("CreateWebhookSubscriptionSuccess")
export class CreateWebhookSubscriptionSuccess {
  @Field(() => WebhookSubscriptionType) webhookSubscription!: WebhookSubscriptionType;
}

@ObjectType("DeleteWebhookSubscriptionSuccess")
export class DeleteWebhookSubscriptionSuccess {
  @Field(() => Boolean) success!: boolean;
}
