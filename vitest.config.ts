import { defineConfig } from "vitest/config";

/**
 * Tests that need no server (no PostgreSQL, NATS or herald; in-process fakes and loopback sockets are
 * fine) and run in seconds: test/domain, and the pure tests of the other folders. Every other file
 * outside test/e2e is integration: it talks to PostgreSQL, NATS or the in-repo EventStoreDB test
 * server, or (test/adapters/db) boots embedded PGlite clusters, which takes tens of seconds.
 */
const unit = [
  // storable-json checks the domain against a real PostgreSQL (its oracle): integration.
  "test/domain/!(storable-json).test.ts",
  "test/architecture/*.test.ts",
  "test/adapters/auth/*.test.ts",
  "test/adapters/eventstore/live-subscription-wakeup.test.ts",
  "test/adapters/http/webhook-sender.test.ts",
  "test/app/commands/*.test.ts",
  "test/app/config.test.ts",
  "test/app/console/*.test.ts",
  "test/app/delivery-directory.test.ts",
  "test/app/entity-streams.test.ts",
  "test/app/graphql/*.test.ts",
  "test/app/metrics.test.ts",
  "test/app/playground/*.test.ts",
  "test/app/waypoint/recent-tenant-events.test.ts",
  "test/app/waypoint/sse-stream.test.ts",
  "test/app/waypoint/waiter-index.test.ts",
  "test/app/waypoint/waypoint-request.test.ts",
  "test/app/web/*.test.ts",
];
/** The tests that drive a browser (Chromium through playwright-core) against a running herald. */
const browser = ["test/e2e/console.test.ts", "test/e2e/playground.test.ts"];
/** herald running (in-process or as a child process) against the real servers. */
const e2e = ["test/e2e/**/*.test.ts"];

/**
 * For the tiers that talk to servers: check that PostgreSQL and NATS are up before any test, and give
 * expect.poll the time a loaded machine needs for a projection or a worker to catch up.
 */
const services = {
  globalSetup: ["test/support/global-setup.ts"],
  expect: { poll: { timeout: 20_000, interval: 50 } },
};

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) copies. Node loads the CJS one for every package
    // (type-graphql, Apollo); vite would pick the ESM one for our sources, and graphql refuses types
    // from "another realm". Load the one Node loads.
    alias: { graphql: "graphql/index.js" },
  },
  test: {
    setupFiles: ["reflect-metadata"],
    // The machine has two cores and the suite talks to shared PostgreSQL and NATS servers.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: unit, testTimeout: 10_000, hookTimeout: 10_000 } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...unit, ...e2e],
          ...services,
          testTimeout: 60_000,
          // A database of its own, created and migrated, per file or block: slow on a loaded machine.
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: e2e,
          exclude: browser,
          ...services,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: { name: "browser", include: browser, ...services, testTimeout: 60_000, hookTimeout: 60_000 },
      },
    ],
  },
});
