/**
 * `docs/benchmarks.md` from one run's results: the machine, the command, herald beside each baseline
 * measured in the same run, every figure, and a hand-written SVG of delivery latency percentiles.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { NATS_URL, POSTGRES_URL } from "../test/support/services.js";
import { round } from "./bench-support.js";

export type BenchResults = Readonly<Record<string, Record<string, unknown>>>;

export interface RunContext {
  readonly command: string;
  readonly startedAt: Date;
  readonly seconds: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

type Latency = Record<"p50" | "p90" | "p95" | "p99" | "max", number>;
const PERCENTILES = ["p50", "p90", "p95", "p99", "max"] as const;
const CHART = "benchmarks-delivery-latency.svg";

export async function writeBenchmarksDoc(docsDir: string, results: BenchResults, context: RunContext): Promise<string> {
  mkdirSync(docsDir, { recursive: true });
  const delivery = results.delivery as { pacedLatencyMs?: Latency; burstLatencyMs?: Latency } | undefined;
  const hasChart = delivery?.pacedLatencyMs !== undefined && delivery.burstLatencyMs !== undefined;
  if (hasChart) writeFileSync(join(docsDir, CHART), latencyChart(delivery.pacedLatencyMs!, delivery.burstLatencyMs!));
  const path = join(docsDir, "benchmarks.md");
  writeFileSync(path, await markdown(results, context, hasChart));
  return path;
}

async function markdown(results: BenchResults, context: RunContext, hasChart: boolean): Promise<string> {
  const cpu = cpus();
  const lines = [
    "# herald benchmarks",
    "",
    `Written by \`${context.command}\` on ${context.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC (${Math.round(context.seconds)} s). Run the same command to reproduce; each benchmark also runs on its own (\`npm run bench -- matching\`) and prints one JSON line.`,
    "Every comparison below puts herald and its baseline side by side, both measured in this run on this machine. The figures describe this machine, not a limit of herald.",
    "",
    "## Machine",
    "",
    "| | |",
    "|---|---|",
    `| CPU | ${cpu.length} cores, ${cpu[0]?.model.trim() ?? "unknown"} |`,
    `| memory | ${round(totalmem() / 2 ** 30)} GiB |`,
    `| OS | Linux ${release()} |`,
    `| Node | ${process.version} |`,
    `| PostgreSQL | ${await postgresVersion()} |`,
    `| NATS server | ${await natsVersion()} |`,
    `| load average (1 min) | ${context.loadBefore} before, ${context.loadAfter} after: the machine is shared, and a load above the core count stretches tails |`,
    "",
  ];

  const comparisons = comparisonRows(results);
  if (comparisons.length > 0) {
    lines.push("## herald against its baselines", "", "| figure | herald | baseline | herald ÷ baseline |", "|---|---|---|---|", ...comparisons, "");
  }
  if (hasChart) {
    const delivery = results.delivery as { pacedLatencyMs: Latency; burstLatencyMs: Latency; pacedPerSecond: number; deliveries: number; deliveriesPerSecond: number };
    lines.push(
      "## Delivery latency",
      "",
      "NATS publish → ingest → event store → dispatcher → queue → POST received, every attempt appended. " +
        `Paced: ${delivery.pacedPerSecond} transactions/s, against ${delivery.deliveriesPerSecond} deliveries/s measured in the burst of this run; ` +
        "when the paced latency is seconds rather than milliseconds, the machine did not keep up with that rate. " +
        `Burst: ${delivery.deliveries} published at once, so latency includes the time queued behind the burst.`,
      "",
      `![delivery latency percentiles](${CHART})`,
      "",
      `| ms | ${PERCENTILES.join(" | ")} |`,
      `|---|${PERCENTILES.map(() => "---:").join("|")}|`,
      `| paced | ${PERCENTILES.map((p) => delivery.pacedLatencyMs[p]).join(" | ")} |`,
      `| burst | ${PERCENTILES.map((p) => delivery.burstLatencyMs[p]).join(" | ")} |`,
      "",
    );
  }
  lines.push("## Every figure", "");
  for (const [name, result] of Object.entries(results)) {
    lines.push(`### ${name}`, "", "| figure | value |", "|---|---|");
    for (const [key, value] of flatten(result)) if (!key.startsWith("machine.")) lines.push(`| ${key} | ${value} |`);
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

/** One row per figure that has a baseline: herald's, the baseline's, and their ratio. */
function comparisonRows(results: BenchResults): string[] {
  const rows: string[] = [];
  const ratio = (herald: number, baseline: number) => `${round(herald / baseline, herald / baseline < 10 ? 3 : 0)}×`;
  for (const [key, value] of Object.entries(results.matching ?? {})) {
    if (!key.startsWith("subscriptions")) continue;
    const figures = value as { subscriptions: number; indexMicrosecondsPerTransaction: number; linearScanMicrosecondsPerTransaction: number; indexTransactionsPerSecond: number; linearScanTransactionsPerSecond: number };
    rows.push(
      `| matching, ${figures.subscriptions.toLocaleString("en")} subscriptions: transactions/s (µs each) | index: ${figures.indexTransactionsPerSecond.toLocaleString("en")} (${figures.indexMicrosecondsPerTransaction}) | linear scan: ${figures.linearScanTransactionsPerSecond.toLocaleString("en")} (${figures.linearScanMicrosecondsPerTransaction}) | ${ratio(figures.indexTransactionsPerSecond, figures.linearScanTransactionsPerSecond)} |`,
    );
  }
  const delivery = results.delivery as { deliveriesPerSecond?: number; plainUndiciPostsPerSecond?: number } | undefined;
  if (delivery?.deliveriesPerSecond !== undefined && delivery.plainUndiciPostsPerSecond !== undefined) {
    rows.push(
      `| delivery throughput, per second | herald: ${delivery.deliveriesPerSecond} deliveries (NATS → store → POST, every attempt appended) | plain undici loop: ${delivery.plainUndiciPostsPerSecond} POSTs to the same receiver | ${ratio(delivery.deliveriesPerSecond, delivery.plainUndiciPostsPerSecond)} |`,
    );
  }
  return rows;
}

/** `a.b.c | value` rows; arrays of objects by index (`projections.0.name`). */
function flatten(value: unknown, prefix = ""): [string, string][] {
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) return [[prefix, value.join(", ")]];
  if (typeof value !== "object" || value === null) return [[prefix, String(value)]];
  return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>("show server_version");
    return rows[0]?.server_version ?? "unknown";
  } catch (error) {
    return `not reachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function natsVersion(): Promise<string> {
  try {
    const nc = await connect({ servers: NATS_URL });
    const version = nc.info?.version ?? "unknown";
    await nc.close();
    return version;
  } catch (error) {
    return `not reachable (${(error as Error).message})`;
  }
}

/** Two panels (paced, burst), each on its own scale: burst latencies are queueing time, orders larger. */
function latencyChart(paced: Latency, burst: Latency): string {
  const width = 760;
  const panelWidth = 360;
  const barHeight = 22;
  const top = 56;
  const height = top + PERCENTILES.length * (barHeight + 10) + 40;
  const panel = (x: number, title: string, latency: Latency, colour: string) => {
    const max = Math.max(...PERCENTILES.map((p) => latency[p]), 1);
    const labelWidth = 44;
    const barSpace = panelWidth - labelWidth - 70;
    const bars = PERCENTILES.map((p, i) => {
      const y = top + i * (barHeight + 10);
      const w = Math.max(1, (latency[p] / max) * barSpace);
      return [
        `<text x="${x + labelWidth - 6}" y="${y + 15}" text-anchor="end">${p}</text>`,
        `<rect x="${x + labelWidth}" y="${y}" width="${round(w)}" height="${barHeight}" fill="${colour}"/>`,
        `<text x="${round(x + labelWidth + w + 6)}" y="${y + 15}">${latency[p]} ms</text>`,
      ].join("");
    });
    return `<text x="${x}" y="${top - 14}" font-weight="bold">${title}</text>${bars.join("")}`;
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="24" font-size="15" font-weight="bold">herald delivery latency, NATS publish → webhook received (ms)</text>`,
    panel(20, "paced", paced, "#2f6fb0"),
    panel(400, "burst (includes time queued)", burst, "#c0632b"),
    `<text x="20" y="${height - 12}" fill="#555">Each panel has its own scale. Source: docs/benchmarks.md, same run.</text>`,
    "</svg>",
    "",
  ].join("\n");
}

export const loadAverage = (): number => round(loadavg()[0] ?? 0, 2);
