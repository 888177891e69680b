/**
 * `npm run bench [-- name …] [--write-docs]`: runs the named benchmarks (all when none is named). Each
 * prints ONE JSON line on stdout; progress goes to stderr. With no name, or with --write-docs, the
 * results also become docs/benchmarks.md (and its latency chart).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BenchResults, loadAverage, writeBenchmarksDoc } from "./bench-report.js";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && !["run.ts"].includes(file) && !file.startsWith("bench-"))
  .map((file) => file.replace(/\.ts$/, ""))
  .sort();

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  const described = available.map(
    (name) => `  ${name}\n${headerComment(join(here, `${name}.ts`)).replace(/^/gm, "    ")}`,
  );
  process.stdout.write(
    [
      "usage: npm run bench [-- <name> …] [--write-docs]",
      "",
      "Each benchmark prints one JSON line on stdout; progress goes to stderr. With no name, or with",
      "--write-docs, the results are also written to docs/benchmarks.md, with herald's performance goals",
      "(herald, its baseline, the ratio or the bound, met or not) computed from them.",
      "",
      "environment:",
      "  BENCH_DELIVERIES      delivery: transactions in the burst (default 5000)",
      "  BENCH_HISTORY_EVENTS  delivery: events in the log for the history variant (default 1000000; 0 skips it)",
      "",
      "benchmarks:",
      ...described,
      "",
    ].join("\n"),
  );
  process.exit(0);
}
const names = args.filter((arg) => arg !== "--write-docs");
const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(", ")}; available: ${available.join(", ")}\n`);
  process.exit(2);
}
const writeDocs = names.length === 0 || args.includes("--write-docs");
const selected = names.length > 0 ? names : available;

const startedAt = new Date();
const loadBefore = loadAverage();
const results: Record<string, Record<string, unknown>> = {};
for (const [i, name] of selected.entries()) {
  process.stderr.write(`bench: ${name} (${i + 1} of ${selected.length})\n`);
  const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
    run(): Promise<Record<string, unknown>>;
  };
  results[name] = await module.run();
  process.stdout.write(`${JSON.stringify({ bench: name, ...results[name] })}\n`);
}
if (writeDocs) {
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`;
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const path = await writeBenchmarksDoc(join(here, "..", "docs"), results as BenchResults, {
    command,
    startedAt,
    seconds,
    loadBefore,
    loadAfter: loadAverage(),
  });
  process.stderr.write(`bench: wrote ${path}\n`);
}

/** The text of a benchmark's leading doc comment: what it measures and against what. */
function headerComment(file: string): string {
  const comment = /\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, "utf8"))?.[1] ?? "";
  return comment
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, ""))
    .join("\n")
    .trim();
}
