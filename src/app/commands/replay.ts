import { rebuildProjection } from "../../projections/projection-runner.js";
import { loadConfig } from "../config.js";
import { allProjections, openStorage } from "../herald.js";
import { createLogger } from "../logger.js";
import { progress } from "../progress-bar.js";
import { type CliCommand, CliUsageError, parseCommandArgs } from "./cli-command.js";

const HELP = `usage: npx herald replay [projection|all]

Rebuilds read models from the event store: drops each projection's tables and replays every event
it handles from the first one, with a progress bar, then prints events/s. Stop herald first (a
running process holds the projections; with embedded storage it also holds the data directory).

Reads the same environment as herald (DATABASE_URL, EVENTSTORE_URL, HERALD_DATA_DIR, …).
`;

export const replayCommand: CliCommand = {
  name: "replay",
  summary: "rebuild read models from the event store",
  async run(args) {
    const { positionals, values } = parseCommandArgs(args, { help: { type: "boolean", short: "h" } }, true);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const wanted = positionals[0] ?? "all";
    if (positionals.length > 1) throw new CliUsageError("name one projection, or all");

    const config = loadConfig();
    const logger = createLogger("warn");
    const { database, store } = await openStorage(config, logger);
    try {
      // The dispatcher appends while it replays (idempotently: a delivery stream is created once).
      const projections = allProjections({ store, logger, config });
      const names = projections.map((projection) => projection.name);
      const selected = wanted === "all" ? projections : projections.filter((projection) => projection.name === wanted);
      if (wanted !== "all" && selected.length === 0) throw new CliUsageError(`no projection "${wanted}"; there are: ${names.join(", ")}`);
      for (const projection of selected) {
        // Progress is the share of the log behind the last applied position: both stores' positions
        // grow with the log, so this needs no second pass to count events.
        const head = await store.headPosition();
        const end = head === "start" ? 1 : Number(head.prepare);
        const label = `replay ${projection.name}`;
        const result = await rebuildProjection({
          database,
          store,
          projection,
          onProgress: (_applied, position) => progress(label, Math.min(Number(position.prepare), end), end),
        });
        progress(label, end, end);
        const rate = result.events / Math.max(result.ms / 1000, 1e-9);
        process.stdout.write(
          `${JSON.stringify({ projection: projection.name, events: result.events, seconds: Number((result.ms / 1000).toFixed(2)), eventsPerSecond: Math.round(rate) })}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
      await database.close();
    }
  },
};
