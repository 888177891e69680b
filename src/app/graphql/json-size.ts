/**
 * The length in UTF-8 bytes of `JSON.stringify(value)` when it is more than `limit`, else
 * undefined; it stops counting once past the limit, and builds no string but each string value's
 * own, so an answer far over the cap costs no more to refuse than one at the cap.
 */
export function jsonBytesOver(value: unknown, limit: number): number | undefined {
  let bytes = 0;
  // Explicit stack: a JSON scalar in an answer may nest deeper than the call stack allows.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next instanceof Token) bytes += next.bytes;
    else if (next === null || typeof next !== "object") bytes += scalarBytes(next);
    else if (typeof (next as { toJSON?: unknown }).toJSON === "function")
      bytes += utf8Bytes(JSON.stringify(next) ?? "");
    else if (Array.isArray(next)) {
      bytes += 2 + Math.max(0, next.length - 1);
      // In an array, undefined and functions are written as null.
      for (let index = next.length - 1; index >= 0; index--)
        stack.push(next[index] === undefined || typeof next[index] === "function" ? null : next[index]);
    } else {
      const entries = Object.entries(next).filter(([, member]) => member !== undefined && typeof member !== "function");
      bytes += 2 + Math.max(0, entries.length - 1);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, member] = entries[index]!;
        stack.push(member, new Token(utf8Bytes(JSON.stringify(key)) + 1));
      }
    }
    if (bytes > limit) return bytes;
  }
  return undefined;
}

/** Bytes already known (an object key with its colon), kept apart from the values on the stack. */
class Token {
  constructor(readonly bytes: number) {}
}

/** undefined at the top level writes nothing; NaN and Infinity are written as null. */
const scalarBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value) ?? "");

const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");
