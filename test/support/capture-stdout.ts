import { vi } from "vitest";

/** Runs a CLI command with its standard output captured. */
export async function runCommand(
  command: (args: readonly string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string }> {
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await command(args), out };
  } finally {
    write.mockRestore();
  }
}
