#!/usr/bin/env node
// `npx herald …`: runs the TypeScript CLI through tsx, so there is no build step to forget, on the
// Node that runs this script (a bare `node` could be another version), with the project's compiler
// options (decorators) from whatever directory it is called.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "src", "app", "cli.ts");
const result = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), cli, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, TSX_TSCONFIG_PATH: join(root, "tsconfig.json") },
});
process.exit(result.status ?? 1);
