import { rebuildProjections } from "../../projections/rebuild.js";
import { allProjections } from "../all-projections.js";
import { loadConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { openStorage } from "../open-storage.js";
import { progress } from "../progress-bar.js";
import { CliUsageError, parseCommandArgs } from "./cli-command.js";

const HELP = `usage: npx herald replay [projection|all]

Rebuilds read models from the event store: drops the tables of the projections named (all: every
one) and replays them together in one pass over the log from the first event, with a progress bar,
then prints each projection's events and the pass's events/s. Stop herald first (a
running process holds the projections; with embedded storage it also holds the data directory).

Reads the same environment as herald (DATABASE_URL, EVENTSTORE_URL, HERALD_DATA_DIR, …).
`;

export async function runReplay(args: readonly string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs(args, { help: { type: "boolean", short: "h" } }, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const wanted = positionals[0] ?? "all";
  if (positionals.length > 1) throw new CliUsageError("name one projection, or all");

  const config = loadConfig();
  const logger = createLogger("warn");
  const storage = await openStorage(config, logger);
  const { database, store } = storage;
  try {
    // The dispatcher appends while it replays (idempotently: a delivery stream is created once).
    const { projections, reactors } = allProjections({ store, logger, config });
    const names = [...reactors, ...projections].map((projection) => projection.name);
    const chosen = (list: typeof projections) =>
      wanted === "all" ? list : list.filter((projection) => projection.name === wanted);
    const selected = { projections: chosen(projections), reactors: chosen(reactors) };
    if (selected.projections.length + selected.reactors.length === 0)
      throw new CliUsageError(`no projection "${wanted}"; there are: ${names.join(", ")}`);
    // Progress is the share of the log behind the last position read: both stores' positions grow
    // with the log, so this needs no second pass to count events.
    const head = await store.headPosition();
    const end = head === "start" ? 1 : Number(head.prepare);
    const label = `replay ${wanted}`;
    const result = await rebuildProjections({
      database,
      store,
      ...selected,
      onProgress: (_read, position) => progress(label, Math.min(Number(position.prepare), end), end),
    });
    progress(label, end, end);
    const seconds = Number((result.ms / 1000).toFixed(2));
    for (const [projection, events] of result.applied)
      process.stdout.write(`${JSON.stringify({ projection, events, seconds })}\n`);
    const rate = result.events / Math.max(result.ms / 1000, 1e-9);
    process.stdout.write(
      `${JSON.stringify({ replay: wanted, eventsRead: result.events, seconds, eventsPerSecond: Math.round(rate) })}\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}
