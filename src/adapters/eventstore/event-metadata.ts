import { randomUUID } from "node:crypto";
import type { EventMetadata } from "./event-store.js";

/**
 * Metadata for events caused by one command or message. Events caused by another event pass that
 * event's correlation id on and name it as the cause.
 */
export function eventMetadata(
  actor: string,
  cause: { readonly correlationId?: string; readonly causationId?: string } = {},
  at: Date = new Date(),
): EventMetadata {
  const correlationId = cause.correlationId ?? randomUUID();
  return { correlationId, causationId: cause.causationId ?? correlationId, actor, at: at.toISOString() };
}
