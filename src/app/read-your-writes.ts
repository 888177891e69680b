import type { Logger } from "pino";
import type { Position } from "../adapters/eventstore/event-store.js";
import { comparePositions } from "../adapters/eventstore/position.js";
import { type ProjectionMember, ProjectionTimeoutError } from "../projections/projection-group.js";

/**
 * Waits until the read models have applied every position written, so that the caller's next query
 * sees its own write. Bounded: on timeout the write stands and the answer goes out; only a later read
 * may lag, which is logged.
 */
export async function awaitReadModels(
  positions: readonly (Position | undefined)[],
  readModels: readonly ProjectionMember[],
  options: { readonly timeoutMs: number; readonly logger: Logger; readonly after: string },
): Promise<void> {
  const last = positions.reduce<Position | undefined>(
    (max, position) => (position && (!max || comparePositions(position, max) > 0) ? position : max),
    undefined,
  );
  if (!last) return;
  try {
    await Promise.all(readModels.map((member) => member.waitFor(last, options.timeoutMs)));
  } catch (error) {
    if (!(error instanceof ProjectionTimeoutError)) throw error;
    options.logger.warn({ err: error }, `a read model lags behind ${options.after}; answering without waiting`);
  }
}
