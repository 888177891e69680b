import { readFileSync } from "node:fs";
import "reflect-metadata";
import { buildSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { runSchema } from "../../../src/app/commands/print-schema.js";
import { runCommand } from "../../support/capture-stdout.js";

const run = (args: string[]) => runCommand(runSchema, args);

describe("npx herald schema", () => {
  it("prints SDL that parses, with the API's operations and their descriptions", async () => {
    const { code, out } = await run([]);
    expect(code).toBe(0);
    const schema = buildSchema(out);
    expect(Object.keys(schema.getMutationType()!.getFields())).toEqual(
      expect.arrayContaining(["createWebhookEndpoint", "recoverDeliveries"]),
    );
    expect(schema.getQueryType()!.getFields().deliveries).toBeDefined();
    expect(schema.getType("WebhookEndpoint")?.toConfig()).toMatchObject({
      fields: { rateLimit: { description: expect.stringContaining("per second") } },
    });
  });

  it("matches docs/schema.graphql (run `npx herald schema > docs/schema.graphql` after changing the API)", async () => {
    const { out } = await run([]);
    expect(out).toBe(readFileSync(new URL("../../../docs/schema.graphql", import.meta.url), "utf8"));
  });

  it("explains itself with --help", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    expect(out).toContain("usage: npx herald schema");
  });
});
