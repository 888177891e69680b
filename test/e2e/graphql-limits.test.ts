import fc from "fast-check";
import { getIntrospectionQuery } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";
import type { GraphqlResponse } from "../support/graphql-client.js";
import { signedToken, TEST_SIWE_DOMAIN } from "../support/siwe.js";

/** Small enough that some documents the cost lets through answer more than it. */
const MAX_RESPONSE_BYTES = 65_536;
const INTROSPECTION = getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true });
const TRAIL_FIELDS = "type stream revision position at actor correlationId causationId data";
const FRAGMENTS = INTROSPECTION.slice(INTROSPECTION.indexOf("fragment FullType"));
const FULL_SCHEMA = "__schema { types { ...FullType } }";
/** `count` aliases of GraphiQL's introspection, each costing about 15,700 (with this schema). */
const introspections = (count: number) =>
  `query { ${Array.from({ length: count }, (_, i) => `s${i}: ${FULL_SCHEMA}`).join(" ")} } ${FRAGMENTS}`;

/** Fragments F0 … F25, each spreading the next twice: 2^26 selections written out, 1.6 KB written down. */
function doublingDocument(levels: number): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  return `query { ...F0 }\n${fragments.join("\n")}\nfragment F${levels} on Query { __typename }`;
}

interface RawAnswer {
  readonly status: number;
  readonly bytes: number;
  readonly body: GraphqlResponse;
}

describe("GraphQL limits over HTTP: cost, introspection, aliases, tokens, size and the answer cap", () => {
  const harness = useDeliveryHarness({
    env: {
      HERALD_GRAPHQL_MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES),
      HERALD_RETRY_BASE_MS: "20",
      HERALD_RETRY_MAX_MS: "50",
    },
  });
  const alice = harness.owner;
  let token: string;
  let webhookId: string;

  /** POSTs a document as alice (or signed out) and keeps the body's exact size. */
  async function post(query: string, variables: object = {}, signedIn = true): Promise<RawAnswer> {
    const response = await fetch(`${harness.herald.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(signedIn ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    return {
      status: response.status,
      bytes: Buffer.byteLength(text.trimEnd(), "utf8"),
      body: JSON.parse(text) as GraphqlResponse,
    };
  }

  const refusal = (answer: RawAnswer) => ({
    status: answer.status,
    code: answer.body.errors?.[0]?.extensions?.code,
    message: answer.body.errors?.[0]?.message,
  });

  beforeAll(async () => {
    token = await signedToken(alice, TEST_SIWE_DOMAIN);
    webhookId = await harness.api.endpointAt("https://example.com/hook");
    // A trail of seven events: created, then six updates.
    for (let i = 0; i < 6; i++) {
      const answer = await post(
        `mutation($id: String!, $url: String!) { updateWebhookEndpoint(input: { webhookId: $id, url: $url }) { webhookEndpoint { url } } }`,
        {
          id: webhookId,
          url: `https://example.com/hook/${i}`,
        },
      );
      expect(answer.body.errors).toBeUndefined();
    }
  });

  it("answers the 26-level fragment doubling document with 400 at once, signed out, while /healthz keeps answering", async () => {
    const document = doublingDocument(25);
    expect(document.length).toBeLessThan(1_700);
    const started = Date.now();
    const refused = post(document, {}, false);
    let answered = false;
    void refused.then(() => (answered = true));
    let health = 0;
    // The event loop stays free: /healthz answers while the document is measured.
    while (!answered) {
      expect((await fetch(`${harness.herald.url}/healthz`)).status).toBe(200);
      health++;
    }
    const answer = await refused;
    expect(refusal(answer)).toEqual({
      status: 400,
      code: "BAD_USER_INPUT",
      message: "the query costs more than 50000, the most allowed",
    });
    expect(health).toBeGreaterThan(0);
    // It took 6 s before the cost walk was linear; a generous bound on a shared machine.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("counts introspection: the GraphiQL query is answered, 200 aliased __schema are refused, and so are 4 full introspections", async () => {
    const full = await post(INTROSPECTION, {}, false);
    expect(full.status).toBe(200);
    expect(full.body.data?.__schema.queryType.name).toBe("Query");

    const aliased = Array.from({ length: 200 }, (_, i) => `s${i}: __schema { types { name } }`).join(" ");
    expect(refusal(await post(`{ ${aliased} }`, {}, false))).toEqual({
      status: 400,
      code: "BAD_USER_INPUT",
      message: "the query selects 600 fields; at most 200 are allowed",
    });
    const fewer = Array.from({ length: 51 }, (_, i) => `s${i}: __schema { description }`).join(" ");
    expect(refusal(await post(`{ ${fewer} }`, {}, false))).toMatchObject({
      status: 400,
      code: "BAD_USER_INPUT",
      message: expect.stringContaining("50 aliases"),
    });

    expect(refusal(await post(introspections(4), {}, false))).toEqual({
      status: 400,
      code: "BAD_USER_INPUT",
      message: "the query costs more than 50000, the most allowed",
    });
  });

  it("refuses 1,249 aliases of one's own audit trail, and too many tokens or bytes, before validating them", async () => {
    const trails = (count: number) =>
      `{ ${Array.from({ length: count }, (_, i) => `t${i}: auditTrail(webhookId: "${webhookId}") { ${TRAIL_FIELDS} }`).join(" ")} }`;
    expect(refusal(await post(trails(1_249)))).toMatchObject({
      status: 400,
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/^the query is \d+ bytes; at most 32768 are allowed$/),
    });
    expect(refusal(await post(trails(60)))).toMatchObject({
      status: 400,
      code: "BAD_USER_INPUT",
      message: "the query selects 600 fields; at most 200 are allowed",
    });
    expect((await post(trails(5))).body.data?.t4).toHaveLength(7);

    const tokens = `{ ${"__typename ".repeat(2_600)}}`;
    expect(refusal(await post(tokens, {}, false))).toMatchObject({
      status: 400,
      code: "GRAPHQL_PARSE_FAILED",
      message: expect.stringContaining("2500 tokens"),
    });
    const padded = `# ${"x".repeat(40_000)}\n{ __typename }`;
    expect(refusal(await post(padded, {}, false))).toMatchObject({
      status: 400,
      code: "BAD_USER_INPUT",
      message: `the query is ${Buffer.byteLength(padded)} bytes; at most 32768 are allowed`,
    });
  });

  it("pages the audit trail and a delivery's attempts", async () => {
    const trail = async (variables: object) =>
      (
        await post(
          `query($id: String, $first: Int!, $after: String) { auditTrail(webhookId: $id, first: $first, after: $after) { type position } }`,
          variables,
        )
      ).body;
    const all = (await trail({ id: webhookId, first: 100 })).data!.auditTrail as { type: string; position: string }[];
    expect(all.map((event) => event.type)).toEqual([
      "WebhookEndpointCreated",
      ...Array(6).fill("WebhookEndpointUpdated"),
    ]);
    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await trail({ id: webhookId, first: 3, after })).data!.auditTrail as { position: string }[];
      if (page.length === 0) break;
      pages.push(page.map((event) => event.position));
      after = page.at(-1)!.position;
    }
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(all.map((event) => event.position));
    expect((await trail({ id: webhookId, first: 101 })).errors?.[0]?.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "first",
    });
    expect((await trail({ id: webhookId, first: 3, after: "0/0" })).errors?.[0]?.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "after",
    });

    // Three attempts: 500, 500, 200.
    harness.receiver.script("/flaky", [{ status: 500 }, { status: 500 }, { status: 200 }]);
    const flaky = await harness.api.endpointAt(`${harness.receiver.url}/flaky`, 3);
    await harness.api.ingest(fixtureTransactions()[0] as Transaction, "attempts-paged");
    const deliveries = `query($id: String!, $after: Int) { deliveries(webhookId: $id) { edges { node { status attempts(first: 2, after: $after) { number statusCode } } } } }`;
    const node = async (after?: number) =>
      (await post(deliveries, { id: flaky, after })).body.data?.deliveries.edges[0]?.node;
    await expect.poll(async () => (await node())?.status, { interval: 100 }).toBe("SUCCEEDED");
    expect((await node()).attempts).toEqual([
      { number: 1, statusCode: 500 },
      { number: 2, statusCode: 500 },
    ]);
    expect((await node(2)).attempts).toEqual([{ number: 3, statusCode: 200 }]);
  });

  it("never answers a document more than HERALD_GRAPHQL_MAX_RESPONSE_BYTES: a larger answer is a RESPONSE_TOO_LARGE error, not a cut body", async () => {
    const tooLarge = await post(introspections(3), {}, false);
    const pieces = [
      FULL_SCHEMA,
      `auditTrail(webhookId: "${webhookId}") { ${TRAIL_FIELDS} }`,
      `webhookEndpoints { edges { node { webhookId url status subscriber createdAt } } total }`,
      `__schema { types { name description fields { name description args { name description } } } }`,
      `__type(name: "Query") { fields { name description type { name kind ofType { name kind } } } }`,
    ];
    const documents = fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 8 }).map((chosen) => {
      const selections = chosen.map((piece, i) => `a${i}: ${piece}`).join(" ");
      return `query { ${selections} } ${selections.includes("...FullType") ? FRAGMENTS : ""}`;
    });
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(documents, async (document) => {
        const answer = await post(document);
        expect(answer.bytes).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
        const code = answer.body.errors?.[0]?.extensions?.code;
        seen.add(code ?? "answered");
        if (answer.status === 200) expect(answer.body.errors).toBeUndefined();
        else expect(["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "RESPONSE_TOO_LARGE"]).toContain(code);
      }),
      { numRuns: 40 },
    );
    expect(seen).toContain("answered");
    expect(refusal(tooLarge)).toEqual({
      status: 400,
      code: "RESPONSE_TOO_LARGE",
      message: `the answer is more than ${MAX_RESPONSE_BYTES} bytes (HERALD_GRAPHQL_MAX_RESPONSE_BYTES): ask for fewer items (first) or fields`,
    });
    expect(tooLarge.body.data).toBeUndefined();
  });
});
