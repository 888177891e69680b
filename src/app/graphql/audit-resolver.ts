import { Args, Ctx, Query, Resolver } from "type-graphql";
import { type AuditEntry, type AuditSubject, readAuditTrail } from "../audit-trail.js";
import { AuditEventType, AuditTrailArgs } from "./audit-types.js";
import { checkPageSize } from "./connection.js";
import { callerOf, type GraphqlContext } from "./context.js";
import { BadUserInputError, NotFoundError } from "./errors.js";

@Resolver()
export class AuditResolver {
  @Query(() => [AuditEventType], {
    description:
      "The events of one endpoint, subscription or delivery (name exactly one), oldest first, read from the event store: deleted entities keep their trail. An endpoint's trail includes the recovery requests made with an idempotency key, a delivery's the redeliver requests. A page at a time: page on with `after`.",
  })
  async auditTrail(
    @Args(() => AuditTrailArgs) args: AuditTrailArgs,
    @Ctx() context: GraphqlContext,
  ): Promise<AuditEntry[]> {
    const caller = callerOf(context);
    const size = checkPageSize("first", args.first);
    const trail = await readAuditTrail(context.store, context.db, caller, auditSubject(args));
    if (!trail) throw new NotFoundError("no such entity");
    const start = args.after == null ? 0 : trail.findIndex((entry) => entry.position === args.after) + 1;
    if (start === 0 && args.after != null)
      throw new BadUserInputError("after", "after is not the position of an event of this trail");
    return trail.slice(start, start + size);
  }
}

function auditSubject({ webhookId, subscriptionId, deliveryId }: AuditTrailArgs): AuditSubject {
  const subjects: AuditSubject[] = [];
  if (webhookId != null) subjects.push({ kind: "endpoint", webhookId });
  if (subscriptionId != null) subjects.push({ kind: "subscription", subscriptionId });
  if (deliveryId != null) subjects.push({ kind: "delivery", deliveryId });
  const [subject] = subjects;
  if (!subject || subjects.length > 1)
    throw new BadUserInputError("webhookId", "name exactly one of webhookId, subscriptionId, deliveryId");
  return subject;
}
