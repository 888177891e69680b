import "reflect-metadata";
import { NatsLayoutError } from "../adapters/nats/jetstream-ingest.js";
import { ConfigError, loadConfig } from "./config.js";
import { startHerald } from "./herald.js";
import { createLogger, logFormat, prettyDestination } from "./logger.js";

/** `npm start`: read the configuration, start herald, stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`herald: invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const pretty = logFormat(config.logFormat, process.stdout.isTTY) === "pretty";
  const logger = createLogger(config.logLevel, pretty ? prettyDestination(process.stdout) : undefined);
  const herald = await startHerald(config, logger).catch((error: unknown) => {
    if (!(error instanceof NatsLayoutError)) throw error;
    process.stderr.write(`herald: cannot use NATS: ${error.message}\n`);
    process.exit(1);
  });
  logger.info(
    { url: herald.url, embedded: config.embedded, dataDir: config.embedded ? config.dataDir : undefined },
    "herald is listening",
  );
  if (config.embedded) {
    // Printed once for people trying herald by hand; it is also kept in the data directory.
    process.stdout.write(
      `\nherald is running at ${herald.url}\n` +
        `  GraphQL:        ${herald.url}/graphql\n` +
        `  ingest token:   ${config.ingestToken} (POST ${herald.url}/v1/transactions, stored in ${config.dataDir}/secrets.json)\n` +
        `  SSE keys:       npx herald tenant-token --wallet <wallet_id>  (or --admin --group <group_id>)\n\n`,
    );
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down: finishing work in flight");
    herald.stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `herald: could not start: ${(error as Error).message}${(error as Error).cause ? ` (${((error as Error).cause as Error).message})` : ""}\n`,
  );
  process.exit(1);
});
