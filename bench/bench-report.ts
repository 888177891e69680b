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
  const panels = chartPanels(results);
  if (panels.length > 0) writeFileSync(join(docsDir, CHART), latencyChart(panels));
  const path = join(docsDir, "benchmarks.md");
  writeFileSync(path, await markdown(results, context, panels.length > 0));
  return path;
}

async function markdown(results: BenchResults, context: RunContext, hasChart: boolean): Promise<string> {
  const cpu = cpus();
  const lines = [
    "# herald benchmarks",
    "",
    `Written by \`${context.command}\` on ${context.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC (${Math.round(context.seconds)} s). Run the same command to reproduce; each benchmark also runs on its own (\`npm run bench -- matching\`) and prints one JSON line; \`npm run bench -- --help\` says what each measures.`,
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
    "## Performance goals",
    "",
    "Each goal checked against this run's figures; a goal whose benchmark did not run says so.",
    "",
    "| figure | herald | baseline (same run) | herald ÷ baseline or bound | goal | met |",
    "|---|---|---|---|---|---|",
    ...goalRows(results),
    "",
  ];

  const comparisons = comparisonRows(results);
  if (comparisons.length > 0) {
    lines.push(
      "## herald against its baselines",
      "",
      "| figure | herald | baseline | herald ÷ baseline |",
      "|---|---|---|---|",
      ...comparisons,
      "",
    );
  }
  if (hasChart) {
    const runs = latencyRuns(results);
    lines.push(
      "## Delivery latency",
      "",
      "NATS publish → ingest → event store → … → POST received, every attempt appended. " +
        `Idle: single transactions one at a time. Paced: transactions/s well spread, against ${figure(results, "delivery.burst.deliveriesPerSecond") ?? "?"} deliveries/s measured in the burst of this run; ` +
        "when the paced latency is seconds rather than milliseconds, the machine did not keep up with that rate. " +
        `Burst: ${figure(results, "delivery.burst.transactions") ?? "?"} published at once, so latency includes the time queued behind the burst. ` +
        `History: the same runs after herald restarted on a log of ${formatted(figure(results, "delivery.history.eventsInLog"))} events (loaded in bulk), against ${formatted(figure(results, "delivery.eventsInLog"))} when the fresh idle and paced runs began.`,
      "",
      `![delivery latency percentiles](${CHART})`,
      "",
      `| ms | ${PERCENTILES.join(" | ")} |`,
      `|---|${PERCENTILES.map(() => "---:").join("|")}|`,
      ...runs.map(([title, latency]) => `| ${title} | ${PERCENTILES.map((p) => latency[p]).join(" | ")} |`),
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

/** A number at a dotted path of the results (`delivery.burst.deliveriesPerSecond`), if that benchmark ran. */
function figure(results: BenchResults, path: string): number | undefined {
  let value: unknown = results;
  for (const key of path.split("."))
    value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof value === "number" ? value : undefined;
}

const formatted = (value: number | undefined, unit = "") =>
  value === undefined ? "not measured" : `${value.toLocaleString("en")}${unit}`;
const ratioOf = (herald: number | undefined, baseline: number | undefined) =>
  herald === undefined || baseline === undefined ? undefined : round(herald / baseline, 3);
const verdict = (met: boolean | undefined) => (met === undefined ? "—" : met ? "**met**" : "not met");

/** herald's p99 may grow this much with history and still count as "no growth": paced tails on a shared machine vary that much run to run. */
const NO_GROWTH = 1.25;

/** The table of herald's performance goals, one row per figure, computed from the results only. */
function goalRows(results: BenchResults): string[] {
  const rows: string[] = [];
  const row = (
    name: string,
    herald: string,
    baseline: string,
    measured: string,
    goal: string,
    met: boolean | undefined,
  ) => rows.push(`| ${name} | ${herald} | ${baseline} | ${measured} | ${goal} | ${verdict(met)} |`);
  const bound = (value: number | undefined, max: number) => (value === undefined ? undefined : value <= max);
  const atLeast = (value: number | undefined, min: number) => (value === undefined ? undefined : value >= min);
  /** A throughput beside its plain baseline, whose ratio must reach `min`. */
  const ratioRow = (
    name: string,
    herald: { path: string; unit: string },
    baseline: { path: string; text: (value: string) => string },
    min: number,
  ) => {
    const heraldValue = figure(results, herald.path);
    const baselineValue = figure(results, baseline.path);
    const ratio = ratioOf(heraldValue, baselineValue);
    row(
      name,
      `${formatted(heraldValue)} ${herald.unit}`,
      baseline.text(formatted(baselineValue)),
      `${formatted(ratio)}×`,
      `≥ ${min}×`,
      atLeast(ratio, min),
    );
  };

  for (const rate of [500, 200]) {
    const p99 = figure(results, `delivery.paced${rate}.latencyMs.p99`);
    row(
      `NATS publish → webhook received, paced ${rate} tx/s`,
      `p50 ${formatted(figure(results, `delivery.paced${rate}.latencyMs.p50`), " ms")}, p99 ${formatted(p99, " ms")}`,
      "—",
      `p99 ${formatted(p99, " ms")}`,
      rate === 500 ? "p99 ≤ 50 ms" : "— (500 tx/s is the goal)",
      rate === 500 ? bound(p99, 50) : undefined,
    );
  }
  for (const rate of [500, 200]) {
    const fresh = figure(results, `delivery.paced${rate}.latencyMs.p99`);
    const history = figure(results, `delivery.history.paced${rate}.latencyMs.p99`);
    const growth = ratioOf(history, fresh);
    row(
      `the same, paced ${rate} tx/s, after ${formatted(figure(results, "delivery.history.eventsInLog"))} events in the log`,
      `p99 ${formatted(history, " ms")}`,
      `p99 ${formatted(fresh, " ms")} on a log of ${formatted(figure(results, "delivery.eventsInLog"))} events`,
      `${formatted(growth)}×`,
      rate === 500 ? `p99 ≤ 50 ms and no growth (≤ ${NO_GROWTH}×)` : "— (500 tx/s is the goal)",
      rate === 500 && growth !== undefined ? growth <= NO_GROWTH && (history ?? Infinity) <= 50 : undefined,
    );
  }
  ratioRow(
    "burst deliveries/s ÷ a plain keep-alive HTTP loop to the same receivers",
    { path: "delivery.burst.deliveriesPerSecond", unit: "deliveries/s" },
    { path: "delivery.plainKeepAlivePostsPerSecond", text: (value) => `${value} POSTs/s` },
    0.25,
  );
  const idle = figure(results, "delivery.idle.latencyMs.p50");
  row(
    "one transaction on an idle herald, ingest → POST",
    `p50 ${formatted(idle, " ms")}, p99 ${formatted(figure(results, "delivery.idle.latencyMs.p99"), " ms")}`,
    "—",
    `p50 ${formatted(idle, " ms")}`,
    "p50 ≤ 10 ms",
    bound(idle, 10),
  );
  ratioRow(
    "append, batch of 1",
    { path: "store.appendEventsPerSecond.batchOf1", unit: "events/s" },
    {
      path: "store.plainInsertRowsPerSecond.oneRowPerTransaction",
      text: (value) => `plain one-row INSERT transaction: ${value} rows/s`,
    },
    0.5,
  );
  ratioRow(
    "`replay all`",
    { path: "replay.replayAll.storeEventsPerSecond", unit: "store events/s" },
    { path: "replay.plainSequentialReadEventsPerSecond", text: (value) => `plain sequential read: ${value} events/s` },
    0.25,
  );
  const sse = figure(results, "sse.latencyMs.p99");
  const waiters = figure(results, "sse.waitersHeld");
  row(
    `SSE publish → client${waiters === undefined ? "" : `, ${formatted(waiters)} waiters held`}`,
    `p99 ${formatted(sse, " ms")}`,
    "—",
    `p99 ${formatted(sse, " ms")}`,
    "p99 ≤ 25 ms",
    bound(sse, 25),
  );
  return rows;
}

/** One row per figure that has a baseline: herald's, the baseline's, and their ratio. */
function comparisonRows(results: BenchResults): string[] {
  const rows: string[] = [];
  const ratio = (herald: number, baseline: number) => `${round(herald / baseline, herald / baseline < 10 ? 3 : 0)}×`;
  const compare = (
    name: string,
    heraldPath: string,
    heraldLabel: string,
    baselinePath: string,
    baselineLabel: string,
  ) => {
    const herald = figure(results, heraldPath);
    const baseline = figure(results, baselinePath);
    if (herald !== undefined && baseline !== undefined)
      rows.push(
        `| ${name} | ${heraldLabel}: ${herald.toLocaleString("en")} | ${baselineLabel}: ${baseline.toLocaleString("en")} | ${ratio(herald, baseline)} |`,
      );
  };
  for (const [key, value] of Object.entries(results.matching ?? {})) {
    if (!key.startsWith("subscriptions")) continue;
    const figures = value as {
      subscriptions: number;
      indexMicrosecondsPerTransaction: number;
      linearScanMicrosecondsPerTransaction: number;
      indexTransactionsPerSecond: number;
      linearScanTransactionsPerSecond: number;
    };
    rows.push(
      `| matching, ${figures.subscriptions.toLocaleString("en")} subscriptions: transactions/s (µs each) | index: ${figures.indexTransactionsPerSecond.toLocaleString("en")} (${figures.indexMicrosecondsPerTransaction}) | linear scan: ${figures.linearScanTransactionsPerSecond.toLocaleString("en")} (${figures.linearScanMicrosecondsPerTransaction}) | ${ratio(figures.indexTransactionsPerSecond, figures.linearScanTransactionsPerSecond)} |`,
    );
  }
  compare(
    "delivery throughput, per second",
    "delivery.burst.deliveriesPerSecond",
    "herald deliveries (NATS → store → POST, every attempt appended)",
    "delivery.plainKeepAlivePostsPerSecond",
    "plain keep-alive undici loop, POSTs to the same receiver",
  );
  for (const rate of [200, 500]) {
    compare(
      `delivery p99 at ${rate} tx/s, ms (lower is better)`,
      `delivery.history.paced${rate}.latencyMs.p99`,
      "after the history",
      `delivery.paced${rate}.latencyMs.p99`,
      "fresh log",
    );
  }
  compare(
    "append, batch of 1, per second",
    "store.appendEventsPerSecond.batchOf1",
    "herald events",
    "store.plainInsertRowsPerSecond.oneRowPerTransaction",
    "plain one-row INSERT transactions, same table shape",
  );
  compare(
    "append, batch of 100, per second",
    "store.appendEventsPerSecond.batchOf100",
    "herald events",
    "store.plainInsertRowsPerSecond.hundredRowsPerStatement",
    "plain 100-row INSERT rows, same table shape",
  );
  compare(
    "replay, events per second",
    "replay.replayAll.storeEventsPerSecond",
    "`herald replay all`",
    "replay.plainSequentialReadEventsPerSecond",
    "plain sequential read of the same log",
  );
  return rows;
}

/** The delivery latencies of the run, in the order the chart and the table show them. */
function latencyRuns(results: BenchResults): [string, Latency][] {
  const delivery = (results.delivery ?? {}) as Record<string, unknown>;
  const history = (typeof delivery.history === "object" ? delivery.history : {}) as Record<string, unknown>;
  const runs: [string, unknown][] = [
    ["idle", delivery.idle],
    ["paced 200/s", delivery.paced200],
    ["paced 500/s", delivery.paced500],
    ["burst", delivery.burst],
    ["history, idle", history.idle],
    ["history, paced 200/s", history.paced200],
    ["history, paced 500/s", history.paced500],
  ];
  return runs.flatMap(([title, run]) => {
    const latency = (run as { latencyMs?: Latency } | undefined)?.latencyMs;
    return latency ? [[title, latency] as [string, Latency]] : [];
  });
}

function chartPanels(results: BenchResults): [string, Latency][] {
  return latencyRuns(results).filter(([title]) => !title.startsWith("history"));
}

/** `a.b.c | value` rows; arrays of objects by index (`projections.0.name`). */
function flatten(value: unknown, prefix = ""): [string, string][] {
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null))
    return [[prefix, value.join(", ")]];
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

/** One panel per run, two a row, each on its own scale: burst latencies are queueing time, orders larger. */
function latencyChart(panels: readonly [string, Latency][]): string {
  const width = 760;
  const panelWidth = 360;
  const barHeight = 22;
  const panelHeight = PERCENTILES.length * (barHeight + 10) + 40;
  const top = 56;
  const height = top + Math.ceil(panels.length / 2) * panelHeight + 20;
  const panel = (x: number, y0: number, title: string, latency: Latency, colour: string) => {
    const max = Math.max(...PERCENTILES.map((p) => latency[p]), 1);
    const labelWidth = 44;
    const barSpace = panelWidth - labelWidth - 70;
    const bars = PERCENTILES.map((p, i) => {
      const y = y0 + i * (barHeight + 10);
      const w = Math.max(1, (latency[p] / max) * barSpace);
      return [
        `<text x="${x + labelWidth - 6}" y="${y + 15}" text-anchor="end">${p}</text>`,
        `<rect x="${x + labelWidth}" y="${y}" width="${round(w)}" height="${barHeight}" fill="${colour}"/>`,
        `<text x="${round(x + labelWidth + w + 6)}" y="${y + 15}">${latency[p]} ms</text>`,
      ].join("");
    });
    return `<text x="${x}" y="${y0 - 14}" font-weight="bold">${title}</text>${bars.join("")}`;
  };
  const colours = ["#2f6fb0", "#3f8f5f", "#7a4fb0", "#c0632b"];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="24" font-size="15" font-weight="bold">herald delivery latency, NATS publish → webhook received (ms)</text>`,
    ...panels.map(([title, latency], i) =>
      panel(
        20 + (i % 2) * 380,
        top + Math.floor(i / 2) * panelHeight,
        title === "burst" ? "burst (includes time queued)" : title,
        latency,
        colours[i % colours.length]!,
      ),
    ),
    `<text x="20" y="${height - 12}" fill="#555">Each panel has its own scale. Source: docs/benchmarks.md, same run.</text>`,
    "</svg>",
    "",
  ].join("\n");
}

export const loadAverage = (): number => round(loadavg()[0] ?? 0, 2);
