/** Shared by the benchmarks: progress on stderr, percentiles, the machine a figure came from. */
import { readdirSync, readFileSync } from "node:fs";
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

/**
 * CPU time spent from now on, in ms: by this process (herald, the receiver and the publisher in the
 * benchmarks) and by every PostgreSQL server process on the machine (undefined where /proc is
 * missing). Unlike a rate, it hardly moves with what else the machine is doing.
 */
export function cpuMeter(): () => { process: number; postgres: number | undefined } {
  const processFrom = process.cpuUsage();
  const postgresFrom = postgresCpuMs();
  return () => {
    const used = process.cpuUsage(processFrom);
    const postgresNow = postgresCpuMs();
    return {
      process: (used.user + used.system) / 1000,
      postgres: postgresFrom === undefined || postgresNow === undefined ? undefined : postgresNow - postgresFrom,
    };
  };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every architecture Node runs on. */
const TICKS_PER_MS = 100 / 1000;

/** CPU time of the processes named postgres, alive now (a backend that ended took its time with it: benchmarks keep their pools open). */
function postgresCpuMs(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const close = stat.lastIndexOf(")");
      if (stat.slice(stat.indexOf("(") + 1, close) !== "postgres") continue;
      const fields = stat.slice(close + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks / TICKS_PER_MS;
}
