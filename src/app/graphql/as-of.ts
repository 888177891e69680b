import { BadUserInputError } from "./errors.js";

/** The `asOf` argument of time-travel queries: an ISO-8601 time, as milliseconds since the epoch. */
export const AS_OF_DESCRIPTION = "ISO-8601 time: the entity as it stood then, folded from its event stream.";

export function parseAsOf(asOf: string | null | undefined): number | undefined {
  if (asOf == null) return undefined;
  // Date.parse also takes forms such as "March 7"; time travel wants an unambiguous instant.
  const time = /^\d{4}-\d{2}-\d{2}T/.test(asOf) ? Date.parse(asOf) : Number.NaN;
  if (Number.isNaN(time)) throw new BadUserInputError("asOf", "asOf must be an ISO-8601 time, e.g. 2026-11-24T12:00:00Z");
  return time;
}
