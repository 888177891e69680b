/**
 * `npm run drill [-- name …]`: fault drills against real processes. Each drill publishes
 * transactions, injects its fault, and checks the event store: every transaction delivered at least
 * once, every delivery's history complete, none scheduled twice, no delivery attempted twice at once.
 * Prints a pass/fail table; exits 1 when a drill fails.
 */
import { alwaysOk, type ReceiverBehaviour } from "./drill-receiver.js";
import { POISON_ENV, poisonFault } from "./poison-messages.js";
import { type DrillContext, type DrillResult, runScenario, type Scenario } from "./scenario.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A third 500, a third 429 with Retry-After, a third 200, and now and then a hang past the timeout; later attempts succeed. */
const flaky: ReceiverBehaviour = ({ attempt, sequence }) => {
  if (attempt > 2) return { kind: "status", status: 200 };
  if (sequence % 37 === 0) return { kind: "hang" };
  const roll = sequence % 3;
  if (roll === 0) return { kind: "status", status: 500 };
  if (roll === 1) return { kind: "status", status: 429, headers: { "retry-after": "1" } };
  return { kind: "status", status: 200 };
};

/** 2,000 transactions; the named server is stopped and started once a quarter are delivered. */
function restartMidRun(name: string, server: string, restart: (context: DrillContext) => Promise<void>): Scenario {
  return {
    name,
    transactions: 2000,
    processes: 1,
    retries: 10,
    behaviour: alwaysOk,
    async fault(context) {
      await context.acknowledged(500);
      await restart(context);
      return `${server} stopped and started at 25% delivered`;
    },
  };
}

const scenarios: readonly Scenario[] = [
  {
    name: "sigkill-x3",
    transactions: 5000,
    processes: 1,
    retries: 10,
    behaviour: alwaysOk,
    async fault(context) {
      for (const share of [0.15, 0.4, 0.65]) {
        await context.acknowledged(Math.floor(5000 * share));
        await context.heralds[0]!.kill("SIGKILL");
        await context.restartHerald(0);
      }
      return "herald SIGKILLed at 15%, 40% and 65% delivered, restarted each time";
    },
  },
  restartMidRun("nats-restart", "nats-server", (context) => context.nats.restart()),
  restartMidRun("postgres-restart", "PostgreSQL (fast shutdown)", (context) => context.postgres.restart()),
  {
    name: "flaky-receiver",
    transactions: 1000,
    processes: 1,
    retries: 20,
    behaviour: flaky,
    env: { HERALD_DELIVERY_TIMEOUT_MS: "1000" },
    async fault() {
      await pause(0);
      return "receiver: 1/3 500, 1/3 429 Retry-After: 1, 1/37 hangs past the 1 s timeout (first two attempts)";
    },
  },
  {
    name: "two-processes",
    transactions: 2000,
    processes: 2,
    retries: 10,
    behaviour: alwaysOk,
    async fault() {
      await pause(0);
      return "two herald processes on one database, NATS and queue";
    },
  },
  {
    name: "poison-messages",
    transactions: 1000,
    processes: 1,
    retries: 10,
    behaviour: alwaysOk,
    env: POISON_ENV,
    fault: (context) => poisonFault(context, 1000),
  },
];

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(
    `usage: npm run drill [-- <name> …]\n\ndrills: ${scenarios.map((scenario) => scenario.name).join(", ")}\n`,
  );
  process.exit(0);
}
const unknown = args.filter((name) => !scenarios.some((scenario) => scenario.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `drill: unknown ${unknown.join(", ")}; available: ${scenarios.map((scenario) => scenario.name).join(", ")}\n`,
  );
  process.exit(2);
}

const results: DrillResult[] = [];
for (const scenario of scenarios.filter((candidate) => args.length === 0 || args.includes(candidate.name))) {
  process.stderr.write(`drill ${scenario.name}: starting\n`);
  try {
    results.push(await runScenario(scenario));
  } catch (error) {
    results.push({
      drill: scenario.name,
      passed: false,
      transactions: scenario.transactions,
      delivered: 0,
      received: 0,
      scheduledTwice: 0,
      incompleteHistories: 0,
      concurrentAttempts: 0,
      attempts: 0,
      seconds: 0,
      fault: `error: ${(error as Error).message}`,
      log: "",
    });
  }
  const last = results.at(-1)!;
  process.stderr.write(
    `drill ${scenario.name}: ${last.passed ? "PASS" : "FAIL"}${last.log ? ` (log: ${last.log})` : ""}\n`,
  );
}

const header =
  "| drill | result | published | delivered | received | scheduled twice | incomplete histories | concurrent attempts | attempts | seconds | fault |";
const rows = results.map(
  (r) =>
    `| ${r.drill} | ${r.passed ? "PASS" : "FAIL"} | ${r.transactions} | ${r.delivered} | ${r.received} | ${r.scheduledTwice} | ${r.incompleteHistories} | ${r.concurrentAttempts} | ${r.attempts} | ${r.seconds} | ${r.fault} |`,
);
process.stdout.write(`${[header, "|---|---|---|---|---|---|---|---|---|---|---|", ...rows].join("\n")}\n`);
process.exit(results.every((result) => result.passed) ? 0 : 1);
