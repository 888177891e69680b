import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether a presented key equals the configured one, in time that depends on neither: both are
 * hashed first, so even their lengths stay hidden.
 */
export function staticKeyMatches(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}
