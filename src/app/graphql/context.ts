import type { Kysely } from "kysely";
import type { SecretBox } from "../../adapters/crypto/secret-box.js";
import type { HeraldTables } from "../../adapters/db/schema.js";
import type { EventStore } from "../../adapters/eventstore/event-store.js";
import type { Caller } from "../../domain/caller.js";
import type { DeliveryRecovery } from "../delivery-recovery.js";
import type { WebhookCommands } from "../webhook-commands.js";
import { UnauthenticatedError } from "./errors.js";

/** What every resolver gets: who is asking (or why we do not know), and the two sides of the model. */
export interface GraphqlContext {
  readonly authentication:
    | { readonly ok: true; readonly caller: Caller }
    | { readonly ok: false; readonly reason: string };
  readonly commands: WebhookCommands;
  readonly recovery: DeliveryRecovery;
  /** The read models' database. */
  readonly db: Kysely<HeraldTables>;
  /** The event store, read for audit trails and time travel; writes go through `commands`. */
  readonly store: EventStore;
  readonly secrets: SecretBox;
}

/**
 * Every field of the API needs a signed-in caller; introspection does not, so that tools can load
 * the schema. Resolvers call this first.
 */
export function callerOf(context: GraphqlContext): Caller {
  if (!context.authentication.ok) throw new UnauthenticatedError(context.authentication.reason);
  return context.authentication.caller;
}
