import { createHash } from "node:crypto";

/**
 * A UUID derived from a name (the scheme of RFC 9562's name-based UUIDs, on SHA-256, version 8):
 * the same inputs always give the same id, so replays and duplicate ingests land on the same stream.
 */
export function deterministicId(namespace: string, ...parts: readonly string[]): string {
  const hash = createHash("sha256").update(namespace);
  for (const part of parts) hash.update("\u0000").update(part);
  const bytes = hash.digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
