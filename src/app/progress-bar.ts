/** The last line written to a log, so that callers polling at one value print it once. */
const lastLogged = new WeakMap<NodeJS.WriteStream, string>();

/**
 * A progress line on stderr for long work (replay, bench). On a terminal it redraws in place; in a
 * log (CI) it prints about ten lines in all, never the same line twice in a row.
 */
export function progress(
  label: string,
  done: number,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): void {
  const finished = done >= total;
  if (!stream.isTTY && !finished && done % Math.max(1, Math.floor(total / 10)) !== 0) return;
  const width = 30;
  const filled = Math.min(width, Math.round((done / Math.max(total, 1)) * width));
  const line = `${label.padEnd(28)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`;
  if (stream.isTTY) {
    stream.write(`\r${line}${finished ? "\n" : ""}`);
    return;
  }
  if (lastLogged.get(stream) === line) return;
  lastLogged.set(stream, line);
  stream.write(`${line}\n`);
}
