import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { ReadFrom, StoredEvent } from "../../adapters/eventstore/event-store.js";
import { formatPosition } from "../../adapters/eventstore/position.js";
import { loadConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { openStorage } from "../open-storage.js";
import { CliUsageError, parseCommandArgs } from "./cli-command.js";

const HELP = `usage: npx herald export [--since <time>] [--until <time>] [--out <file>]

Writes the event store's events as NDJSON, one event a line in log order, for an auditor:
{ "position", "stream", "revision", "id", "type", "at", "actor", "correlationId", "causationId", "data" }.
Secrets inside events are sealed (AES-256-GCM) and stay so in the export.

  --since <time>   ISO-8601 time; events that happened at or after it (default: the first)
  --until <time>   ISO-8601 time; events that happened before it (default: now)
  --out <file>     write to this file instead of standard output
`;

export async function runExport(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    since: { type: "string" },
    until: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const since = parseTime("--since", values.since) ?? Number.NEGATIVE_INFINITY;
  const until = parseTime("--until", values.until) ?? Number.POSITIVE_INFINITY;
  if (since >= until) throw new CliUsageError("--since must be before --until");

  const config = loadConfig();
  const storage = await openStorage(config, createLogger("warn"));
  const { store } = storage;
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  let written = 0;
  try {
    let position: ReadFrom = "start";
    for (;;) {
      const page: StoredEvent[] = await store.readAll(position, { maxCount: 2000 });
      const last = page.at(-1);
      if (!last) break;
      position = last.position;
      for (const event of page) {
        const at = Date.parse(event.metadata.at);
        if (at < since || at >= until) continue;
        const line = JSON.stringify({
          position: formatPosition(event.position),
          stream: event.stream,
          revision: event.revision.toString(),
          id: event.id,
          type: event.type,
          at: event.metadata.at,
          actor: event.metadata.actor,
          correlationId: event.metadata.correlationId,
          causationId: event.metadata.causationId,
          data: event.data,
        });
        if (!out.write(`${line}\n`)) await once(out, "drain");
        written++;
      }
    }
  } finally {
    if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
    await storage.close();
  }
  process.stderr.write(`exported ${written} events\n`);
  return 0;
}

function parseTime(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new CliUsageError(`${flag} must be an ISO-8601 time, e.g. 2026-11-24T00:00:00Z`);
  return time;
}
