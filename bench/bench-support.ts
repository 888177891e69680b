/** Shared by the benchmarks: progress on stderr, percentiles, the machine a figure came from. */
import { cpus, totalmem } from "node:os";

export function progress(label: string, done: number, total: number): void {
  if (!process.stderr.isTTY && done !== total && done % Math.max(1, Math.floor(total / 10)) !== 0) return;
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  process.stderr.write(`\r${label.padEnd(28)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}${done === total ? "\n" : ""}`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function machine(): Record<string, unknown> {
  return { cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30), node: process.version };
}
