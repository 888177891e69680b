import type { ExpectedRevision } from "./event-store.js";

/** Whether a stream at `actual` ("no_stream": it has no event) satisfies `expected`. */
export function expectedRevisionHolds(expected: ExpectedRevision, actual: bigint | "no_stream"): boolean {
  if (expected === "any") return true;
  if (expected === "no_stream") return actual === "no_stream";
  if (expected === "stream_exists") return actual !== "no_stream";
  return actual === expected;
}
