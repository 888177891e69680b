import { type AttemptHistory, type DeliveryHistory, withTransaction } from "../../domain/delivery-history.js";
import { isResourceId } from "../../domain/plain-text.js";
import { loadConfig } from "../config.js";
import { readDeliveryHistory } from "../entity-streams.js";
import { createLogger } from "../logger.js";
import { openStorage } from "../open-storage.js";
import { CliUsageError, parseCommandArgs } from "./cli-command.js";

const HELP = `usage: npx herald history <deliveryId> [--json]

Prints one delivery's attempt timeline, read from its event stream (delivery-<deliveryId>): when it
was scheduled, each attempt with its start, duration, status code or error class, Retry-After and
response body (cut to 4 KiB), when the next attempt was due, and how it ended.

  --json   print the history as one JSON object instead

Reads the same environment as herald (DATABASE_URL, EVENTSTORE_URL, HERALD_DATA_DIR, …); herald may
keep running.
`;

export async function runHistory(args: readonly string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs(
    args,
    { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [deliveryId, ...extra] = positionals;
  if (!deliveryId || extra.length > 0) throw new CliUsageError("name one delivery id");
  if (!isResourceId(deliveryId)) throw new CliUsageError("a delivery id is a UUID");

  const storage = await openStorage(loadConfig(), createLogger("warn"));
  const { store } = storage;
  try {
    const history = await readDeliveryHistory(store, deliveryId);
    if (!history) {
      process.stderr.write(`herald history: no delivery ${deliveryId}\n`);
      return 1;
    }
    process.stdout.write(values.json ? `${JSON.stringify(withTransaction(history))}\n` : timeline(history));
    return 0;
  } finally {
    await storage.close();
  }
}

const time = (ms: number): string => new Date(ms).toISOString();

/** The timeline as text, one line per step; response bodies on their own indented line. */
export function timeline(history: DeliveryHistory): string {
  const lines = [
    `delivery ${history.deliveryId}`,
    `  endpoint ${history.webhookId}, transaction ${history.transactionId}`,
    `${time(history.scheduledAt)}  scheduled`,
  ];
  for (const attempt of history.attempts) {
    lines.push(`${time(attempt.startedAt)}  attempt ${attempt.number}: ${answer(attempt)} in ${attempt.durationMs} ms`);
    if (attempt.responseBody) lines.push(`      body: ${JSON.stringify(attempt.responseBody.slice(0, 200))}`);
    if (attempt.nextAttemptAt !== undefined) lines.push(`      next attempt due ${time(attempt.nextAttemptAt)}`);
  }
  switch (history.status) {
    case "succeeded":
      lines.push(`${time(history.finishedAt ?? history.scheduledAt)}  succeeded`);
      break;
    case "failed":
      lines.push(`${time(history.finishedAt ?? history.scheduledAt)}  failed: ${history.failureReason ?? "unknown"}`);
      break;
    case "paused":
      lines.push("  paused: the endpoint is paused");
      break;
    case "pending":
      lines.push(
        `  pending: next attempt due ${history.nextAttemptAt === undefined ? "now" : time(history.nextAttemptAt)}`,
      );
      break;
  }
  return `${lines.join("\n")}\n`;
}

function answer(attempt: AttemptHistory): string {
  const retryAfter = attempt.retryAfter === undefined ? "" : ` (Retry-After: ${attempt.retryAfter})`;
  return attempt.status === undefined
    ? `no answer, ${attempt.errorClass ?? "error"}`
    : `HTTP ${attempt.status}${retryAfter}`;
}
