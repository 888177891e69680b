import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) copies. Node loads the CJS one for every package
    // (type-graphql, Apollo); vite would pick the ESM one for our sources, and graphql refuses types
    // from "another realm". Load the one Node loads.
    alias: { graphql: "graphql/index.js" },
  },
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
