import { GraphQLJSONObject } from "graphql-scalars";
import { ArgsType, Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionArgs, connectionType, MAX_PAGE_SIZE } from "./connection.js";

/** The GraphQL shapes of delivery history (src/domain/delivery-history.ts). */

export enum DeliveryStatus {
  PENDING = "pending",
  PAUSED = "paused",
  SUCCEEDED = "succeeded",
  FAILED = "failed",
}
registerEnumType(DeliveryStatus, { name: "DeliveryStatus" });

@ObjectType("DeliveryAttempt")
export class DeliveryAttemptType {
  @Field(() => Int, { description: "From 1." }) number!: number;
  @Field(() => Float, { description: "Milliseconds since the epoch." }) startedAt!: number;
  @Field(() => Float) durationMs!: number;
  @Field(() => String) url!: string;
  @Field(() => Int, {
    name: "statusCode",
    nullable: true,
    description: "The HTTP status answered; null when there was no answer.",
  })
  status?: number;
  @Field(() => String, {
    nullable: true,
    description: "Why there was no answer: timeout, connection or forbidden_address.",
  })
  errorClass?: string;
  @Field(() => String, { nullable: true, description: "The Retry-After header as received." }) retryAfter?: string;
  @Field(() => String, { nullable: true, description: "The response body, cut to 4 KiB." }) responseBody?: string;
  @Field(() => Float, {
    nullable: true,
    description: "When the next attempt was due after this one; null after the last.",
  })
  nextAttemptAt?: number;
}

@ObjectType("Delivery", { description: "One transaction to one endpoint, with every attempt." })
export class DeliveryType {
  @Field(() => String) deliveryId!: string;
  @Field(() => String) webhookId!: string;
  @Field(() => String) transactionId!: string;
  @Field(() => GraphQLJSONObject, { description: "The body every attempt sent." }) transaction!: Record<
    string,
    unknown
  >;
  @Field(() => Float, { description: "Milliseconds since the epoch." }) scheduledAt!: number;
  @Field(() => DeliveryStatus) status!: DeliveryStatus;
  @Field(() => Float, { nullable: true, description: "While pending: when the next attempt is due." })
  nextAttemptAt?: number;
  @Field(() => Float, { nullable: true, description: "When it succeeded or failed for good." }) finishedAt?: number;
  @Field(() => String, {
    nullable: true,
    description: "Why it failed: not_retryable, retries_exhausted, negative_retry_after, endpoint_deleted.",
  })
  failureReason?: string;
}

export const DeliveryConnection = connectionType("Delivery", DeliveryType);

/** A delivery has at most retries + 1 attempts (MAX_RETRIES + 1 = 21) unless redelivered: one page holds them. */
export const DEFAULT_ATTEMPTS_PAGE = 25;

@ArgsType()
export class AttemptsArgs {
  @Field(() => Int, {
    defaultValue: DEFAULT_ATTEMPTS_PAGE,
    description: `The first this many attempts after \`after\` (at most ${MAX_PAGE_SIZE}).`,
  })
  first!: number;
  @Field(() => Int, {
    nullable: true,
    description: "The number of the last attempt already read: the page starts after it.",
  })
  after?: number | null;
}

@ArgsType()
export class DeliveriesArgs extends ConnectionArgs {
  @Field(() => String) webhookId!: string;
  @Field(() => DeliveryStatus, { nullable: true }) status?: DeliveryStatus | null;
  @Field(() => String, { nullable: true, description: "ISO-8601: deliveries scheduled at or after it." }) since?:
    | string
    | null;
  @Field(() => String, { nullable: true, description: "ISO-8601: deliveries scheduled before it." }) until?:
    | string
    | null;
}

@ObjectType("RedeliverPayload")
export class RedeliverPayload {
  @Field(() => DeliveryType) delivery!: DeliveryType;
  @Field(() => Boolean, {
    description:
      "False when the delivery was not failed (already redelivered, pending or succeeded): nothing was scheduled. With an idempotency key, the first request's answer.",
  })
  redelivered!: boolean;
}

@ObjectType("RecoverDeliveriesPayload")
export class RecoverDeliveriesPayload {
  @Field(() => [String], {
    description:
      "The failed deliveries scheduled for a new attempt by this request (with an idempotency key, by the first request with it).",
  })
  deliveryIds!: string[];
}

export const IDEMPOTENCY_KEY_DESCRIPTION =
  "Optional, 1 to 255 printable ASCII characters, your own per signed-in address: a repeat with the same key and arguments gets the first answer and sends nothing, even after the redelivered attempts failed again; the same key with other arguments is a CONFLICT.";

@ArgsType()
export class RecoverDeliveriesArgs {
  @Field(() => String) webhookId!: string;
  @Field(() => String, { nullable: true, description: "ISO-8601: deliveries scheduled at or after it." }) since?:
    | string
    | null;
  @Field(() => String, { nullable: true, description: "ISO-8601: deliveries scheduled before it." }) until?:
    | string
    | null;
  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null;
}
