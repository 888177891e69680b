import type { Position, ReadFrom } from "./event-store.js";

/** Negative when a < b, 0 when equal, positive when a > b; "start" sorts before every position. */
export function comparePositions(a: ReadFrom, b: ReadFrom): number {
  if (a === "start") return b === "start" ? 0 : -1;
  if (b === "start") return 1;
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** A compact text form, `<commit>-<prepare>`, used in SSE ids, cursors and checkpoints. */
export function formatPosition(position: Position): string {
  return `${position.commit}-${position.prepare}`;
}

/** The inverse of formatPosition; undefined when the text is not a position. */
export function parsePosition(text: string): Position | undefined {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  return { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
}

/** Positions are bigint and JSON.stringify throws on bigint: this is the JSON-safe form. */
export function positionToJSON(position: ReadFrom): string {
  return position === "start" ? "start" : formatPosition(position);
}
