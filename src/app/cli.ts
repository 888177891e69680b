import "reflect-metadata";
import { CliUsageError } from "./commands/cli-command.js";

/** One `npx herald <name>` command; its module prints its own --help and returns the exit code. */
interface CliCommand {
  readonly name: string;
  readonly summary: string;
  load(): Promise<(args: readonly string[]) => Promise<number>>;
}

/**
 * `npx herald <command>`: every command has --help. Each command is loaded when it runs: a command's
 * imports (the GraphQL schema, the storage drivers) would otherwise slow every other one down, and
 * `--help` too.
 */
const commands: readonly CliCommand[] = [
  {
    name: "replay",
    summary: "rebuild read models from the event store",
    load: async () => (await import("./commands/replay.js")).runReplay,
  },
  {
    name: "history",
    summary: "print a delivery's attempt timeline",
    load: async () => (await import("./commands/delivery-history.js")).runHistory,
  },
  {
    name: "export",
    summary: "write events as NDJSON for an auditor",
    load: async () => (await import("./commands/export-events.js")).runExport,
  },
  {
    name: "schema",
    summary: "print the GraphQL schema (SDL)",
    load: async () => (await import("./commands/print-schema.js")).runSchema,
  },
  {
    name: "siwe-token",
    summary: "print a SIWE bearer token for the GraphQL API",
    load: async () => (await import("./commands/siwe-token.js")).runSiweToken,
  },
  {
    name: "tenant-token",
    summary: "print a tenant or tenant-admin key for Waypoint SSE",
    load: async () => (await import("./commands/tenant-token.js")).runTenantToken,
  },
];

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    const lines = commands.map((candidate) => `  ${candidate.name.padEnd(14)} ${candidate.summary}`);
    process.stdout.write(
      `usage: npx herald <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nnpx herald <command> --help shows a command's options.\n`,
    );
    if (name === undefined || name === "--help" || name === "-h") return 0;
    process.stderr.write(`herald: unknown command "${name}"\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`herald ${command.name}: ${error.message}\nTry: npx herald ${command.name} --help\n`);
      return 2;
    }
    process.stderr.write(`herald ${command.name}: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
