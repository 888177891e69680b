import { type ChildProcess, spawn } from "node:child_process";
import { vi } from "vitest";
import type { EventStore, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import type { HeraldEventType } from "../../src/domain/herald-event.js";
import type { NatsTestNames } from "./test-herald.js";
import { TEST_ENCRYPTION_KEY } from "./test-herald.js";

/** herald as a child process, for tests that SIGKILL it (or let it kill itself: HERALD_FAULT_AT). */
export interface HeraldChild {
  readonly process: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the signal that ended it (null when it exited by itself). */
  readonly exited: Promise<NodeJS.Signals | null>;
  kill(): Promise<void>;
}

/**
 * Starts herald on `databaseUrl` and the run's NATS names, with 1 s attempts (so leases end after
 * 7 s) and short retries, and resolves once it listens: the worker and projections start before that.
 */
export async function startHeraldChild(
  databaseUrl: string,
  names: NatsTestNames,
  env: Record<string, string> = {},
): Promise<HeraldChild> {
  // `node --import tsx` rather than the tsx CLI: the CLI forks, and SIGKILL would miss the real process.
  const child = spawn(process.execPath, ["--import", "tsx", "src/app/main.ts"], {
    env: {
      ...process.env,
      ...names.env,
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HERALD_ALLOW_PRIVATE_TARGETS: "true",
      HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      HERALD_DELIVERY_TIMEOUT_MS: "1000",
      HERALD_RETRY_BASE_MS: "200",
      // info: readiness is the "herald is listening" line.
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once("exit", (_code, signal) => resolve(signal)),
  );
  await untilListening(child, () => output, 60_000);
  return {
    process: child,
    output: () => output,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * Resolves once the herald process `child` logged that it listens (its `output` so far); fails at
 * once if it exits before that.
 */
export async function untilListening(child: ChildProcess, output: () => string, timeout: number): Promise<void> {
  const listening = () => output().includes('"msg":"herald is listening"');
  await vi.waitFor(
    () => {
      const running = child.exitCode === null && child.signalCode === null;
      if (running && !listening()) throw new Error(`herald did not start: ${output()}`);
    },
    { timeout, interval: 50 },
  );
  if (!listening()) throw new Error(`herald exited: ${output()}`);
}

/** Every event of one type in the log, in order. */
export async function eventsOfType(store: EventStore, type: HeraldEventType): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (;;) {
    const page = await store.readAll(events.at(-1)?.position ?? "start", {
      filter: { eventTypes: [type] },
      maxCount: 5000,
    });
    if (page.length === 0) return events;
    events.push(...page);
  }
}
