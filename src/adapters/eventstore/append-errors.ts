/**
 * Whether an append failed because of what was appended (permanent: the same append fails again,
 * however often it is retried) or because of the moment (transient: a lost connection, a
 * serialization conflict, a restarting server). Ingest retries transient failures and sets aside the
 * message behind a permanent one, so that it does not hold back the messages after it.
 */
export function isPermanentAppendError(error: unknown): boolean {
  // Follow causes (AppendManyIncompleteError wraps the failure), a few levels at most.
  for (let current = error, level = 0; current instanceof Error && level < 5; current = current.cause, level++) {
    // JSON.stringify: RangeError when nested too deep, TypeError for what JSON cannot represent.
    if (current instanceof RangeError || current instanceof TypeError) return true;
    if ((current as { permanent?: unknown }).permanent === true) return true;
    if (PERMANENT_NAMES.has(current.name)) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && SQLSTATE.test(code)) return PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
  return false;
}

/** SQLSTATE classes of the data itself: 22 data exception (22P05 NUL, 22P02 bad surrogate), 54 program limit exceeded. */
const PERMANENT_SQLSTATE_CLASSES = new Set(["22", "54"]);
const SQLSTATE = /^[0-9A-Z]{5}$/;
/** EventStoreDB's refusal of an append larger than it takes. */
const PERMANENT_NAMES = new Set(["MaxAppendSizeExceededError"]);
