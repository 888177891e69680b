#!/usr/bin/env node
// `npx herald …`: runs the TypeScript CLI through tsx, so there is no build step to forget, in this
// process (no second Node start: a command starts about 80 ms sooner, and signals reach the command
// itself), with the project's compiler options (decorators) from whatever directory it is called.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
register({ tsconfig: join(root, "tsconfig.json") });
await import(pathToFileURL(join(root, "src", "app", "cli.ts")).href);
