import { ArgsType, Field, Float, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { MAX_RATE_LIMIT } from "../../domain/rate-limit.js";
import { DEFAULT_RETRIES, MAX_RETRIES } from "../../domain/webhook-endpoint.js";
import { ConnectionArgs, connectionType } from "./connection.js";
import { Node } from "./node.js";
import { ChainAddressScalar } from "./scalars.js";

/** The GraphQL shapes of webhook endpoints, compatible with the Asset Register schema. */

export enum WebhookEndpointStatus {
  ACTIVE = "ACTIVE",
  /** Active, but deliveries have been failing since failingSince. */
  FAILING = "FAILING",
  PAUSED = "PAUSED",
  DISABLED = "DISABLED",
}
registerEnumType(WebhookEndpointStatus, {
  name: "WebhookEndpointStatus",
  valuesConfig: {
    FAILING: { description: "Deliveries are still attempted, but have been failing since failingSince." },
    PAUSED: { description: "Paused by its owner or an admin: deliveries wait." },
    DISABLED: {
      description: "Disabled by herald (see disabledReason): deliveries wait until the endpoint is resumed.",
    },
  },
});

export enum WebhookEndpointDisabledReason {
  GONE = "gone",
  FAILING_TOO_LONG = "failing_too_long",
}
registerEnumType(WebhookEndpointDisabledReason, {
  name: "WebhookEndpointDisabledReason",
  valuesConfig: {
    GONE: { description: "The endpoint answered 410 Gone." },
    FAILING_TOO_LONG: { description: "Deliveries failed without a success for HERALD_ENDPOINT_DISABLE_AFTER_S." },
  },
});

const RATE_LIMIT_DESCRIPTION =
  `At most this many delivery attempts per second to the endpoint, spread evenly over the second (1 to ${MAX_RATE_LIMIT}), ` +
  "whatever the number of herald processes; null: no limit.";

/** `id`, `apiKey`, `signingSecret`, `status`, `disabledReason` and `failingSince` are resolved from the record (webhook-endpoint-resolver.ts). */
@ObjectType("WebhookEndpoint", { implements: Node })
export class WebhookEndpointType extends Node {
  @Field(() => String) webhookId!: string;
  @Field(() => ChainAddressScalar, { description: "EIP-55 checksummed address of the owner." }) subscriber!: string;
  @Field(() => String) url!: string;
  @Field(() => Float, { description: `Retries after a failed attempt, a whole number from 0 to ${MAX_RETRIES}.` })
  retries!: number;
  @Field(() => Int, { nullable: true, description: RATE_LIMIT_DESCRIPTION }) rateLimit?: number;
  @Field(() => Float, { description: "Milliseconds since the epoch." }) createdAt!: number;
}

export const WebhookEndpointsConnection = connectionType(
  "WebhookEndpoint",
  WebhookEndpointType,
  "WebhookEndpointsConnection",
);

@ArgsType()
export class WebhookEndpointsArgs extends ConnectionArgs {
  @Field(() => String, { nullable: true, description: "Admins only: the endpoints of this subscriber." })
  subscriber?: string | null;
}

@InputType("CreateWebhookEndpointInput")
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: "Absolute http(s) URL, at most 2048 characters." }) url!: string;
  @Field(() => Float, {
    nullable: true,
    description: `A whole number from 0 to ${MAX_RETRIES}; ${DEFAULT_RETRIES} when left out.`,
  })
  retries?: number | null;
  @Field(() => Int, { nullable: true, description: RATE_LIMIT_DESCRIPTION }) rateLimit?: number | null;
}

@InputType("UpdateWebhookEndpointInput")
export class UpdateWebhookEndpointInput {
  @Field(() => String) webhookId!: string;
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => Float, { nullable: true, description: `A whole number from 0 to ${MAX_RETRIES}.` }) retries?:
    | number
    | null;
  @Field(() => Int, { nullable: true, description: "Omit to keep the endpoint's rate limit; null removes it." })
  rateLimit?: number | null;
}

/** The input of the commands that only name an endpoint. */
@InputType("WebhookEndpointRefInput")
abstract class WebhookEndpointRefInput {
  @Field(() => String) webhookId!: string;
}

@InputType("DeleteWebhookEndpointInput")
export class DeleteWebhookEndpointInput extends WebhookEndpointRefInput {}

@InputType("RotateWebhookEndpointApiKeyInput")
export class RotateWebhookEndpointApiKeyInput extends WebhookEndpointRefInput {}

@InputType("PauseWebhookEndpointInput")
export class PauseWebhookEndpointInput extends WebhookEndpointRefInput {}

@InputType("ResumeWebhookEndpointInput")
export class ResumeWebhookEndpointInput extends WebhookEndpointRefInput {}

/** The answer of the commands that leave an endpoint behind. */
@ObjectType("WebhookEndpointPayload")
abstract class WebhookEndpointPayload {
  @Field(() => WebhookEndpointType) webhookEndpoint!: WebhookEndpointType;
}

@ObjectType("CreateWebhookEndpointSuccess")
export class CreateWebhookEndpointSuccess extends WebhookEndpointPayload {}

@ObjectType("UpdateWebhookEndpointSuccess")
export class UpdateWebhookEndpointSuccess extends WebhookEndpointPayload {}

@ObjectType("RotateWebhookEndpointApiKeySuccess")
export class RotateWebhookEndpointApiKeySuccess extends WebhookEndpointPayload {}

@ObjectType("PauseWebhookEndpointSuccess")
export class PauseWebhookEndpointSuccess extends WebhookEndpointPayload {}

@ObjectType("ResumeWebhookEndpointSuccess")
export class ResumeWebhookEndpointSuccess extends WebhookEndpointPayload {}

@ObjectType("DeleteWebhookEndpointSuccess")
export class DeleteWebhookEndpointSuccess {
  @Field(() => Boolean) success!: boolean;
}
