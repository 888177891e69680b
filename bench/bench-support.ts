/** Shared by the benchmarks: progress on stderr, percentiles, the machine a figure came from. */
import { cpus, totalmem } from "node:os";
import pg from "pg";

export { progress } from "../src/app/progress-bar.js";

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** p50, p90, p95, p99 and max of ascending latencies, in ms to 0.1. */
export function latencySummary(sorted: readonly number[]): Record<"p50" | "p90" | "p95" | "p99" | "max", number> {
  const at = (p: number) => round(percentile(sorted, p));
  return { p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: round(sorted.at(-1) ?? Number.NaN) };
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function machine(): Record<string, unknown> {
  return { cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30), node: process.version };
}

/**
 * Counts the SQL statements every pg client of this process sends from now on (herald runs in the
 * bench's process): what a delivery costs the database, beside its latency.
 */
export function statementCounter(): () => number {
  if (!counting) {
    counting = true;
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof query>) {
      statementsSent++;
      return query.apply(this, args);
    } as typeof query;
  }
  const from = statementsSent;
  return () => statementsSent - from;
}

let counting = false;
let statementsSent = 0;
