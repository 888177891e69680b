import { type ParseArgsConfig, parseArgs } from "node:util";

export class CliUsageError extends Error {
  readonly code = "CLI_USAGE";
  constructor(message: string) {
    super(message);
    this.name = "CliUsageError";
  }
}

/** node:util's parseArgs, with its complaints (unknown option, missing value) as usage errors. */
export function parseCommandArgs<const Options extends NonNullable<ParseArgsConfig["options"]>>(
  args: readonly string[],
  options: Options,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `1h`, `1d` or a number of seconds, as seconds. */
export function parseDurationS(flag: string, text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text);
  if (!match?.[1])
    throw new CliUsageError(`${flag} must look like 90s, 30m, 1h, 1d or a number of seconds, got "${text}"`);
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 1);
}
