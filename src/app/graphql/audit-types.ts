import { GraphQLJSONObject } from "graphql-scalars";
import { ArgsType, Field, Int, ObjectType } from "type-graphql";
import { DEFAULT_PAGE_SIZE } from "../../projections/keyset-page.js";
import { MAX_PAGE_SIZE } from "./connection.js";

/** The GraphQL shapes of the audit trail. */

@ObjectType("AuditEvent", { description: "One event of an entity's stream, as stored, with secrets redacted." })
export class AuditEventType {
  @Field(() => String, { description: "Past-tense event type, e.g. WebhookEndpointUpdated." }) type!: string;
  @Field(() => String) stream!: string;
  @Field(() => String, { description: "Revision within the stream, from 0 (a 64-bit number, as text)." })
  revision!: string;
  @Field(() => String, { description: "Global position in the event store, as text." }) position!: string;
  @Field(() => String, { description: "ISO-8601 time at which it happened." }) at!: string;
  @Field(() => String, { description: "Who caused it: an address, or system:<component>." }) actor!: string;
  @Field(() => String) correlationId!: string;
  @Field(() => String) causationId!: string;
  @Field(() => GraphQLJSONObject, { description: 'The event\'s data; apiKey and signingSecret read "[redacted]".' })
  data!: Record<string, unknown>;
}

@ArgsType()
export class AuditTrailArgs {
  @Field(() => String, { nullable: true }) webhookId?: string | null;
  @Field(() => String, { nullable: true }) subscriptionId?: string | null;
  @Field(() => String, { nullable: true }) deliveryId?: string | null;
  @Field(() => Int, {
    defaultValue: DEFAULT_PAGE_SIZE,
    description: `The first this many events after \`after\` (at most ${MAX_PAGE_SIZE}).`,
  })
  first!: number;
  @Field(() => String, {
    nullable: true,
    description: "The position of the last event already read: the page starts after it.",
  })
  after?: string | null;
}
