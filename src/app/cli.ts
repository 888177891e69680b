import "reflect-metadata";
import { type CliCommand, CliUsageError } from "./commands/cli-command.js";
import { historyCommand } from "./commands/delivery-history.js";
import { exportCommand } from "./commands/export-events.js";
import { schemaCommand } from "./commands/print-schema.js";
import { replayCommand } from "./commands/replay.js";
import { siweTokenCommand } from "./commands/siwe-token.js";
import { tenantTokenCommand } from "./commands/tenant-token.js";

/** `npx herald <command>`: every command has --help. */
const commands: readonly CliCommand[] = [
  replayCommand,
  historyCommand,
  exportCommand,
  siweTokenCommand,
  tenantTokenCommand,
  schemaCommand,
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
    return await command.run(rest);
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
