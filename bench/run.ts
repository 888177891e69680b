/**
 * `npm run bench [-- name …]`: runs the named benchmarks (all when none is named). Each prints ONE
 * JSON line on stdout; progress goes to stderr.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && !["run.ts"].includes(file) && !file.startsWith("bench-"))
  .map((file) => file.replace(/\.ts$/, ""))
  .sort();

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`usage: npm run bench [-- <name> …]\n\nbenchmarks: ${available.join(", ")}\nEach prints one JSON line on stdout; progress goes to stderr.\n`);
  process.exit(0);
}
const unknown = args.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(", ")}; available: ${available.join(", ")}\n`);
  process.exit(2);
}
for (const name of args.length > 0 ? args : available) {
  const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run(): Promise<Record<string, unknown>> };
  const result = await module.run();
  process.stdout.write(`${JSON.stringify({ bench: name, ...result })}\n`);
}
