import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The folders of src and what each may import (docs/architecture.md, "Folders and what they may
 * import"), checked on every import statement of every file: `import`, `import type`, `export … from`
 * and `import()`.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface LayerRule {
  /** The layers whose files it may import, its own included. */
  readonly layers: readonly Layer[];
  /** Which imports of packages and Node built-ins it may have. */
  readonly external: "any" | "no-node-builtins" | readonly string[];
}

type Layer = "domain" | "adapters" | "projections" | "commands" | "reactions" | "app" | "client";

const RULES: Record<Layer, LayerRule> = {
  // Pure: no I/O, no framework. node:crypto and node:net only for hashes, ids and parsing IP addresses.
  domain: { layers: ["domain"], external: ["node:crypto", "node:net"] },
  adapters: { layers: ["domain", "adapters"], external: "any" },
  projections: { layers: ["domain", "adapters", "projections"], external: "any" },
  // Command handling: fold a stream, decide, append. Used by the app and by reactions.
  commands: { layers: ["domain", "adapters", "commands"], external: "any" },
  reactions: { layers: ["domain", "adapters", "projections", "commands", "reactions"], external: "any" },
  // The composition root may import everything.
  app: { layers: ["domain", "adapters", "projections", "commands", "reactions", "app", "client"], external: "any" },
  // src/app/<page>/client: bundled for the browser, so only browser code and browser packages.
  client: { layers: ["client"], external: "no-node-builtins" },
};

const NODE_BUILTINS = new Set(builtinModules);

/** The layer of a path relative to the repository root; undefined outside every layer. */
function layerOf(path: string): Layer | undefined {
  if (/^src\/app\/[^/]+\/client\//.test(path)) return "client";
  const folder = /^src\/([^/]+)\//.exec(path)?.[1];
  return folder !== undefined && folder in RULES ? (folder as Layer) : undefined;
}

interface Import {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  /** For a relative import, the file it names, relative to the root (`.js` read as the `.ts`/`.tsx` source). */
  readonly target?: string;
}

function importsOf(file: string, text: string): Import[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: specifier, pos }) => {
    const line = text.slice(0, pos).split("\n").length;
    if (!specifier.startsWith(".")) return { file, line, specifier };
    return { file, line, specifier, target: sourceOf(relative(ROOT, resolve(ROOT, dirname(file), specifier))) };
  });
}

function sourceOf(path: string): string {
  if (!path.endsWith(".js")) return path;
  const stem = path.slice(0, -".js".length);
  return existsSync(join(ROOT, `${stem}.tsx`)) ? `${stem}.tsx` : `${stem}.ts`;
}

/** Why the import breaks its file's rule, naming the file, line and import; undefined when it keeps it. */
function violation(found: Import): string | undefined {
  const why = ruleBroken(found);
  if (!why) return undefined;
  const { file, line, specifier, target } = found;
  return `${file}:${line} imports ${specifier}${target === undefined ? "" : ` (${target})`}: ${why}`;
}

function ruleBroken({ file, specifier, target }: Import): string | undefined {
  const layer = layerOf(file);
  if (!layer) return "the file is in no folder of the rules: give its folder a rule";
  const rule = RULES[layer];
  if (target !== undefined) {
    const targetLayer = layerOf(target);
    if (!targetLayer) return "outside the folders of src";
    return rule.layers.includes(targetLayer) ? undefined : `${layer} may import only ${rule.layers.join(", ")}`;
  }
  if (rule.external === "any") return undefined;
  const builtin = specifier.startsWith("node:") || NODE_BUILTINS.has(specifier.split("/")[0] ?? specifier);
  if (rule.external === "no-node-builtins") return builtin ? `${layer} code runs in the browser` : undefined;
  return rule.external.includes(specifier)
    ? undefined
    : `${layer} may import only ${rule.external.join(", ")} from outside src`;
}

function sourceFiles(): string[] {
  return readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.tsx?$/.test(name))
    .map((name) => `src/${name.split("\\").join("/")}`)
    .sort();
}

describe("import rules of src", () => {
  const imports = sourceFiles().flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), "utf8")));

  it("no file imports what its folder may not", () => {
    const broken = imports.map(violation).filter((why) => why !== undefined);
    expect(broken).toEqual([]);
  });

  it("reads every kind of import statement, and names the file and the import that break a rule", () => {
    const text = [
      'import type { A } from "../adapters/eventstore/event-store.js";',
      'import {\n  b,\n} from "../app/herald.js";',
      'export { c } from "./decision.js";',
      'const d = await import("../projections/projection.js");',
      'import { readFile } from "node:fs/promises";',
    ].join("\n");
    const found = importsOf("src/domain/example.ts", text);
    expect(found.map((one) => one.target ?? one.specifier)).toEqual([
      "src/adapters/eventstore/event-store.ts",
      "src/app/herald.ts",
      "src/domain/decision.ts",
      "src/projections/projection.ts",
      "node:fs/promises",
    ]);
    expect(found.map(violation)).toEqual([
      "src/domain/example.ts:1 imports ../adapters/eventstore/event-store.js (src/adapters/eventstore/event-store.ts): domain may import only domain",
      "src/domain/example.ts:4 imports ../app/herald.js (src/app/herald.ts): domain may import only domain",
      undefined,
      "src/domain/example.ts:6 imports ../projections/projection.js (src/projections/projection.ts): domain may import only domain",
      "src/domain/example.ts:7 imports node:fs/promises: domain may import only node:crypto, node:net from outside src",
    ]);
    expect(violation({ file: "src/app/console/client/x.tsx", line: 1, specifier: "node:crypto" })).toMatch(/browser/);
    expect(
      violation({ file: "src/reactions/x.ts", line: 1, specifier: "../app/y.js", target: "src/app/y.ts" }),
    ).toMatch(/reactions may import only/);
  });
});
