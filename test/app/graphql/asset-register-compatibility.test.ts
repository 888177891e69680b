import { readFileSync } from "node:fs";
import "reflect-metadata";
import {
  BreakingChangeType,
  buildSchema,
  DangerousChangeType,
  findBreakingChanges,
  findDangerousChanges,
} from "graphql";
import { describe, expect, it } from "vitest";
import { buildHeraldSchema } from "../../../src/app/graphql/register-graphql.js";

/**
 * A client written against the real Asset Register's webhook API must keep working against herald:
 * going from the real schema's webhook part (test/fixtures/asset-register-webhooks.graphql) to
 * herald's is no breaking change in graphql-js's own terms. herald's additions may only add.
 */
describe("herald's schema against the Asset Register's webhook schema", () => {
  const real = buildSchema(
    readFileSync(new URL("../../fixtures/asset-register-webhooks.graphql", import.meta.url), "utf8"),
  );

  it("has no breaking change from the real schema", async () => {
    expect(findBreakingChanges(real, await buildHeraldSchema())).toEqual([]);
  });

  it("changes no argument's default and adds no required input; only optional additions remain", async () => {
    const dangerous = findDangerousChanges(real, await buildHeraldSchema());
    expect(dangerous.filter((change) => change.type === DangerousChangeType.ARG_DEFAULT_VALUE_CHANGE)).toEqual([]);
    // What is left: herald's optional input fields and arguments, each named here so a new one is a decision.
    expect(dangerous.map((change) => change.description).sort()).toEqual([
      "An optional arg asOf on Query.webhookEndpoint was added.",
      "An optional arg asOf on Query.webhookSubscription was added.",
      "An optional arg subscriber on Query.webhookEndpoints was added.",
      "An optional field rateLimit on input type CreateWebhookEndpointInput was added.",
      "An optional field rateLimit on input type UpdateWebhookEndpointInput was added.",
    ]);
  });

  it("would notice a break: the schema as herald had it (Int page sizes, nullable apiKey) is breaking", () => {
    const old = buildSchema(
      readFileSync(new URL("../../fixtures/asset-register-webhooks.graphql", import.meta.url), "utf8")
        .replace("apiKey: String!", "apiKey: String")
        .replaceAll("first: Float = 10", "first: Int"),
    );
    const types = findBreakingChanges(real, old).map((change) => change.type);
    expect(types).toContain(BreakingChangeType.FIELD_CHANGED_KIND);
    expect(types).toContain(BreakingChangeType.ARG_CHANGED_KIND);
  });
});
