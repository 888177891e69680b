import { basename } from "node:path";
import { promisify } from "node:util";
import { brotliCompress, gzip, constants as zlib } from "node:zlib";
import { build } from "esbuild";
import type { Logger } from "pino";

/** One file of a page's bundle, held in memory with its compressed forms. */
export interface BrowserAsset {
  readonly contentType: string;
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly brotli: Buffer;
}

export interface BrowserBundle {
  /** By file name; names carry a content hash, so browsers may cache them for good. */
  readonly files: ReadonlyMap<string, BrowserAsset>;
  readonly script: string;
  readonly stylesheet: string;
  readonly buildMs: number;
}

export interface BrowserBundleSource {
  /** For the log line: "GraphQL IDE", "console". */
  readonly title: string;
  /**
   * The client's entry point, an absolute path without extension: esbuild finds main.tsx beside the
   * sources and the compiled main.js in dist/ (npm run build).
   */
  readonly entry: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/**
 * A page's script and stylesheet, bundled from the installed packages with esbuild on first use and
 * kept for the life of the process. Bundling at run time means `npm ci && npm start` needs no build
 * step, and processes that never serve the page (tests, workers) never pay for it. The returned
 * function bundles once however many requests wait for it.
 */
export function browserBundle(source: BrowserBundleSource): (logger: Logger) => Promise<BrowserBundle> {
  let bundled: Promise<BrowserBundle> | undefined;
  return (logger) => {
    bundled ??= bundle(source.entry).then(
      (assets) => {
        const sizes = Object.fromEntries(
          [...assets.files].map(([name, file]) => [name, { bytes: file.identity.length, brotli: file.brotli.length }]),
        );
        logger.info({ buildMs: assets.buildMs, sizes }, `${source.title} bundled`);
        return assets;
      },
      (error: unknown) => {
        // Let the next request try again rather than keep a failure forever.
        bundled = undefined;
        throw error;
      },
    );
    return bundled;
  };
}

async function bundle(entry: string): Promise<BrowserBundle> {
  const started = performance.now();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    outdir: "bundle",
    entryNames: "[name]-[hash]",
    format: "iife",
    platform: "browser",
    target: ["es2020"],
    jsx: "automatic",
    minify: true,
    // React's production build: no development warnings, a third of the size.
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const files = new Map<string, BrowserAsset>();
  for (const output of result.outputFiles) {
    const name = basename(output.path);
    const contentType = CONTENT_TYPES[name.slice(name.lastIndexOf("."))];
    if (!contentType) throw new Error(`the bundle of ${entry} has an unexpected file: ${name}`);
    const identity = Buffer.from(output.contents);
    files.set(name, { contentType, identity, ...(await compress(identity)) });
  }
  const names = [...files.keys()];
  const script = names.find((name) => name.endsWith(".js"));
  const stylesheet = names.find((name) => name.endsWith(".css"));
  if (!script || !stylesheet) throw new Error(`the bundle of ${entry} lacks its script or its stylesheet`);
  return { files, script, stylesheet, buildMs: Math.round(performance.now() - started) };
}

async function compress(identity: Buffer): Promise<{ gzip: Buffer; brotli: Buffer }> {
  const [gzipped, brotli] = await Promise.all([
    promisify(gzip)(identity, { level: 9 }),
    // Quality 9 is within a few per cent of 11 at a fraction of the time.
    promisify(brotliCompress)(identity, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length },
    }),
  ]);
  return { gzip: gzipped, brotli };
}
