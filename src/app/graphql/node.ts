import { Field, ID, InterfaceType } from "type-graphql";

/** Relay's Node: anything `node(id)` can fetch again by its global id. */
@InterfaceType("Node", {
  // Roots are read-model records, not class instances: tell them apart by their own id field.
  resolveType: (value: object) => ("subscriptionId" in value ? "WebhookSubscription" : "WebhookEndpoint"),
})
export abstract class Node {
  @Field(() => ID, { description: "Global id, for node(id)." }) id!: string;
}
