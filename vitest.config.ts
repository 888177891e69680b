import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["reflect-metadata"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machine has two cores and the suite talks to shared PostgreSQL and NATS servers.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
