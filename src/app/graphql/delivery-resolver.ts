import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";
import { type Caller, canRead } from "../../domain/caller.js";
import type { AttemptHistory, DeliveryHistory } from "../../domain/delivery-history.js";
import { parsedTransaction, type Transaction } from "../../domain/ingest-events.js";
import { isResourceId } from "../../domain/plain-text.js";
import { findDeliveryHistory, listDeliveryHistories } from "../../projections/delivery-history.js";
import { readWebhookEndpoint } from "../entity-streams.js";
import { type Connection, checkPageSize, pageRequest, toConnection } from "./connection.js";
import { callerOf, type GraphqlContext } from "./context.js";
import {
  AttemptsArgs,
  DeliveriesArgs,
  DeliveryAttemptType,
  DeliveryConnection,
  DeliveryType,
  IDEMPOTENCY_KEY_DESCRIPTION,
  RecoverDeliveriesArgs,
  RecoverDeliveriesPayload,
  RedeliverPayload,
} from "./delivery-types.js";
import { NotFoundError, refusalError } from "./errors.js";
import { parseTimeArgument } from "./time-argument.js";

/**
 * Delivery history: owners read their endpoints' deliveries; admins and auditors read all. Recovery:
 * owners and admins schedule failed deliveries again (delivery-recovery.ts); auditors may not.
 */
@Resolver(() => DeliveryType)
export class DeliveryResolver {
  @Query(() => DeliveryType)
  async delivery(
    @Arg("deliveryId", () => String) deliveryId: string,
    @Ctx() context: GraphqlContext,
  ): Promise<DeliveryHistory> {
    const caller = callerOf(context);
    const history = isResourceId(deliveryId) ? await findDeliveryHistory(context.db, deliveryId) : undefined;
    if (!history || !(await mayReadEndpoint(context, caller, history.webhookId)))
      throw new NotFoundError("delivery not found");
    return history;
  }

  @Query(() => DeliveryConnection, {
    description: "One endpoint's deliveries, oldest first; deleted endpoints keep theirs.",
  })
  async deliveries(
    @Args(() => DeliveriesArgs) args: DeliveriesArgs,
    @Ctx() context: GraphqlContext,
  ): Promise<Connection<DeliveryHistory>> {
    const caller = callerOf(context);
    const request = pageRequest(args);
    const since = parseTimeArgument("since", args.since);
    const until = parseTimeArgument("until", args.until);
    if (!isResourceId(args.webhookId) || !(await mayReadEndpoint(context, caller, args.webhookId)))
      throw new NotFoundError("webhook endpoint not found");
    const page = await listDeliveryHistories(
      context.db,
      { webhookId: args.webhookId, status: args.status ?? undefined, since, until },
      request,
    );
    return toConnection(
      page,
      (row) => ({ createdAt: row.scheduledAt, id: row.deliveryId }),
      (row) => row,
    );
  }

  /** Histories keep the body once, often as its text alone: the object is parsed from it here. */
  @FieldResolver()
  transaction(@Root() delivery: DeliveryHistory): Transaction {
    return parsedTransaction(delivery);
  }

  @FieldResolver(() => [DeliveryAttemptType], { description: "Oldest first, a page at a time: page on with `after`." })
  attempts(
    @Root() delivery: DeliveryHistory,
    @Args(() => AttemptsArgs) { first, after }: AttemptsArgs,
  ): AttemptHistory[] {
    const size = checkPageSize("first", first);
    return delivery.attempts.filter((attempt) => after == null || attempt.number > after).slice(0, size);
  }

  @Mutation(() => RedeliverPayload, {
    description: "One more attempt for a failed delivery; repeating the request sends nothing more.",
  })
  async redeliver(
    @Arg("deliveryId", () => String) deliveryId: string,
    @Arg("idempotencyKey", () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey:
      | string
      | null
      | undefined,
    @Ctx() context: GraphqlContext,
  ): Promise<{ delivery: DeliveryHistory; redelivered: boolean }> {
    const outcome = await context.recovery.redeliver(callerOf(context), deliveryId, idempotencyKey ?? undefined);
    if (!outcome.ok) throw refusalError(outcome.error);
    return outcome.value;
  }

  @Mutation(() => RecoverDeliveriesPayload, {
    description:
      "One more attempt for each failed delivery of the endpoint scheduled in [since, until); repeating the request sends nothing more.",
  })
  async recoverDeliveries(
    @Args(() => RecoverDeliveriesArgs) args: RecoverDeliveriesArgs,
    @Ctx() context: GraphqlContext,
  ): Promise<{ deliveryIds: string[] }> {
    const caller = callerOf(context);
    const window = { since: parseTimeArgument("since", args.since), until: parseTimeArgument("until", args.until) };
    const outcome = await context.recovery.recover(caller, args.webhookId, window, args.idempotencyKey ?? undefined);
    if (!outcome.ok) throw refusalError(outcome.error);
    return { deliveryIds: outcome.value };
  }
}

/**
 * Ownership from the endpoint's own stream rather than the endpoints read model, which forgets
 * deleted endpoints: their owners and auditors still read their history.
 */
async function mayReadEndpoint(context: GraphqlContext, caller: Caller, webhookId: string): Promise<boolean> {
  const endpoint = await readWebhookEndpoint(context.store, webhookId);
  return endpoint !== undefined && canRead(caller, endpoint.subscriber);
}
