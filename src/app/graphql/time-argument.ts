import { BadUserInputError } from "./errors.js";

/** Time arguments (asOf, since, until): ISO-8601 text, as milliseconds since the epoch. */
export const AS_OF_DESCRIPTION = "ISO-8601 time: the entity as it stood then, folded from its event stream.";

export function parseTimeArgument(field: string, text: string | null | undefined): number | undefined {
  if (text == null) return undefined;
  // Date.parse also takes forms such as "March 7"; an audit wants an unambiguous instant.
  const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time))
    throw new BadUserInputError(field, `${field} must be an ISO-8601 time, e.g. 2026-11-24T12:00:00Z`);
  return time;
}
