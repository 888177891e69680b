/**
 * What the event log can hold. A message may be valid JSON and still not storable: PostgreSQL's
 * jsonb refuses `\u0000` (22P05) and unpaired UTF-16 surrogates (22P02), and JSON.stringify runs out
 * of stack a few thousand levels deep (RangeError). Such a message, once accepted, would fail its
 * append for ever, so ingest refuses it at decode instead.
 */

/** Deepest nesting accepted: the top-level object or array is level 1. */
export const MAX_JSON_DEPTH = 64;

export type Unstorable =
  | { readonly code: "nul_character"; readonly reason: string }
  | { readonly code: "lone_surrogate"; readonly reason: string }
  | { readonly code: "too_deep"; readonly reason: string };

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");
/** Paths quote keys, which may be long: a reason names at most this much of one. */
const MAX_PATH_CHARS = 200;

/**
 * The first reason `value` (as JSON.parse returns it) cannot be stored, or undefined when it can.
 * Iterative, with an explicit stack: a check that recursed would itself fail on the input it guards
 * against.
 */
export function findUnstorable(value: unknown, maxDepth = MAX_JSON_DEPTH): Unstorable | undefined {
  const stack: Place[] = [{ value, depth: 0 }];
  for (let place = stack.pop(); place !== undefined; place = stack.pop()) {
    if (typeof place.value === "string") {
      const problem = textProblem(place.value, () => pathOf(place));
      if (problem) return problem;
      continue;
    }
    if (typeof place.value !== "object" || place.value === null) continue;
    const depth = place.depth + 1;
    if (depth > maxDepth)
      return { code: "too_deep", reason: `nested deeper than ${maxDepth} levels at ${shown(pathOf(place))}` };
    if (Array.isArray(place.value)) {
      for (const [key, element] of place.value.entries()) stack.push({ value: element, depth, parent: place, key });
      continue;
    }
    for (const [key, element] of Object.entries(place.value)) {
      const problem = textProblem(key, () => `a key in ${pathOf(place)}`);
      if (problem) return problem;
      stack.push({ value: element, depth, parent: place, key });
    }
  }
  return undefined;
}

/** A value and how it was reached; the path is spelt out only for a reason (building it for every value would cost the depth times over). */
interface Place {
  readonly value: unknown;
  readonly depth: number;
  readonly parent?: Place;
  readonly key?: string | number;
}

function pathOf(place: Place): string {
  const keys: string[] = [];
  for (let at: Place | undefined = place; at?.parent !== undefined; at = at.parent) {
    keys.push(typeof at.key === "number" ? `[${at.key}]` : `.${at.key}`);
  }
  return `$${keys.reverse().join("")}`;
}

function textProblem(text: string, where: () => string): Unstorable | undefined {
  // The path quotes keys, which may hold the very characters found: it is shown storable too.
  if (text.includes("\u0000"))
    return { code: "nul_character", reason: `a NUL character (\\u0000) in ${shown(where())}` };
  if (LONE_SURROGATE.test(text))
    return { code: "lone_surrogate", reason: `an unpaired UTF-16 surrogate in ${shown(where())}` };
  return undefined;
}

function shown(path: string): string {
  return storableText(path.length > MAX_PATH_CHARS ? `${path.slice(0, MAX_PATH_CHARS)}…` : path);
}

/**
 * `text` with NUL and unpaired surrogates replaced by U+FFFD, for what herald writes about a message
 * it refused (its excerpt, the parser's complaint, its subject): the record of a refusal must itself
 * be storable.
 */
export function storableText(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATES, "\uFFFD");
}
