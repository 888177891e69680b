import { vi } from "vitest";
import type { CliCommand } from "../../src/app/commands/cli-command.js";

/** Runs a CLI command with its standard output captured. */
export async function runCommand(command: CliCommand, args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await command.run(args), out };
  } finally {
    write.mockRestore();
  }
}
