import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

// `node --import tsx` rather than the tsx CLI, which forks: signals must reach herald itself.
const node = (args: string[], env: Record<string, string>) =>
  spawn(process.execPath, ["--import", "tsx", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

/** Runs `src/app/main.ts` as a real process and waits for its URL. */
function startMain(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = node(["src/app/main.ts"], env);
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match =
        /herald is running at (http:\/\/\S+)/.exec(output) ?? /"url":"(http:\/\/[^"]+)","embedded"/.exec(output);
      if (match?.[1]) resolve({ child, url: match[1], output: () => output });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`herald exited with ${code}: ${output}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("service shell", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald();
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("answers /healthz and /readyz with every part named", async () => {
    const health = await fetch(`${herald.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${herald.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks.map((check) => check.name).sort()).toEqual([
      "database",
      "eventstore",
      "nats",
      "nats-ingest:tenant-events",
      "nats-ingest:transactions",
    ]);
    expect(body.checks.every((check) => check.ok)).toBe(true);
    expect(health.headers.get("x-request-id")).toMatch(/.+/);
  });

  it("answers 503 on /readyz naming the part that is down", async () => {
    const other = await herald.restart();
    await other.herald.database.db.destroy();
    const ready = await fetch(`${other.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { failing: string[] };
    expect(body.failing).toContain("database");
    await other.stop().catch(() => {});
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await fetch(`${herald.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("starts embedded with no server, and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "herald-main-"));
    const { child, url, output } = await startMain({
      PORT: "0",
      HERALD_DATA_DIR: dataDir,
      DATABASE_URL: "",
      NATS_URL: "",
      LOG_LEVEL: "info",
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const exited = exitOf(child);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output()).toContain('"msg":"stopped"');
    expect(output()).toMatch(/ingest token: +\S+/);
  });

  it("stops at start-up with one line naming a bad variable", async () => {
    const child = node(["src/app/main.ts"], { PORT: "eighty" });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitOf(child)).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      'herald: invalid configuration: PORT: expected a whole number, got "eighty"',
    ]);
  });
});
