import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery, parse, validate } from "graphql";
import type { Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiweToken } from "../../src/adapters/auth/siwe-token.js";
import { EXAMPLE_OPERATIONS } from "../../src/app/playground/client/example-operations.js";
import { collectPageErrors, injectTestWallet, launchChromium, type TestBrowser } from "../support/chromium.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

const OUTPUT_DIR = join(process.cwd(), "test-output");

/** The text of one of GraphiQL's CodeMirror editors. */
function editorText(page: Page, selector: string): Promise<string> {
  return page
    .locator(`${selector} .CodeMirror`)
    .first()
    .evaluate((element) => (element as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
}

describe("GraphQL playground in the browser", () => {
  let herald: TestHerald;
  let browser: TestBrowser;
  beforeAll(async () => {
    [herald, browser] = await Promise.all([startTestHerald({ nats: false }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.cleanup();
  });

  it("signs in with an injected wallet and creates the guide's webhook endpoint from the IDE", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const page = await browser.context.newPage();
    const consoleErrors = collectPageErrors(page);
    const signed = await injectTestWallet(page, account);

    await page.goto(`${herald.url}/graphql`);
    await page.locator(".graphiql-container").waitFor();
    // The guide's first operation is the open tab.
    expect(await editorText(page, ".graphiql-query-editor")).toContain("mutation CreateWebhookEndpoint");

    await page.getByRole("button", { name: "Sign in with Ethereum", exact: true }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain(`Signed in as ${account.address}`);
    expect(signed[0]).toMatch(
      new RegExp(
        `^${herald.herald.config.siweDomain} wants you to sign in with your Ethereum account:\n${account.address}\n`,
      ),
    );

    // The token is in the request headers, where the user can see it.
    await page.getByRole("button", { name: "Headers" }).click();
    const headers = JSON.parse(await editorText(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)")) as Record<
      string,
      string
    >;
    expect(headers.authorization).toMatch(/^Bearer [A-Za-z0-9_-]+\.0x[0-9a-f]{130}$/);
    await page.getByRole("button", { name: "Variables" }).click();
    expect(JSON.parse(await editorText(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)"))).toEqual({
      input: { url: "https://example.com/webhook", retries: 5 },
    });

    await page.locator(".graphiql-execute-button").click();
    await expect.poll(() => editorText(page, ".result-window"), { timeout: 20_000 }).toContain("webhookId");
    const result = JSON.parse(await editorText(page, ".result-window")) as {
      data?: { createWebhookEndpoint: { webhookEndpoint: Record<string, unknown> } };
      errors?: unknown;
    };
    expect(result.errors).toBeUndefined();
    expect(result.data?.createWebhookEndpoint.webhookEndpoint).toMatchObject({
      subscriber: account.address,
      url: "https://example.com/webhook",
      retries: 5,
      webhookId: expect.any(String),
      apiKey: expect.any(String),
    });

    expect(consoleErrors).toEqual([]);

    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, "playground.png") });
    await page.close();
  }, 120_000);

  it("without a wallet, says how to get a token and takes a pasted one", async () => {
    // What `npx herald siwe-token` prints.
    const { token, address } = await createSiweToken({
      privateKey: generatePrivateKey(),
      domain: herald.herald.config.siweDomain,
      ttlS: 3600,
    });
    const page = await browser.context.newPage();
    await page.goto(`${herald.url}/graphql`);
    await page.getByText("No browser wallet found").waitFor();
    expect(await page.locator(".herald-paste-token code").textContent()).toContain(
      "npx herald siwe-token --private-key 0x…",
    );

    await page.getByLabel("SIWE token").fill(`Bearer ${token}`);
    await page.getByRole("button", { name: "Use this token" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain(`Signed in as ${address}`);
    await page.getByRole("button", { name: "Headers" }).click();
    const headers = JSON.parse(await editorText(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)")) as Record<
      string,
      string
    >;
    expect(headers.authorization).toBe(`Bearer ${token}`);
    await page.close();
  });

  it("opens tabs whose operations the schema accepts", async () => {
    const response = await fetch(`${herald.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: getIntrospectionQuery() }),
    });
    const schema = buildClientSchema(((await response.json()) as { data: IntrospectionQuery }).data);
    for (const { query } of EXAMPLE_OPERATIONS)
      expect(validate(schema, parse(query)).map((error) => error.message)).toEqual([]);
  });

  it("leaves GraphQL over GET and POST to Apollo, and serves the IDE's files compressed", async () => {
    const viaGet = await fetch(`${herald.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, {
      headers: { accept: "application/json", "apollo-require-preflight": "true" },
    });
    expect(await viaGet.json()).toEqual({ data: { __typename: "Query" } });

    const html = await (await fetch(`${herald.url}/graphql`, { headers: { accept: "text/html" } })).text();
    const script = /src="(\/graphql\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${herald.url}${script}`, { headers: { "accept-encoding": "br" } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("br");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${herald.url}/graphql/assets/nope.js`)).status).toBe(404);
  });
});

describe("GraphQL playground switched off (HERALD_PLAYGROUND=false)", () => {
  let herald: TestHerald;
  let browser: TestBrowser;
  beforeAll(async () => {
    [herald, browser] = await Promise.all([
      startTestHerald({ nats: false, env: { HERALD_PLAYGROUND: "false" } }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.cleanup();
  });

  it("gives the browser no IDE", async () => {
    const page = await browser.context.newPage();
    const response = await page.goto(`${herald.url}/graphql`);
    expect(response?.headers()["content-type"]).not.toContain("text/html");
    expect(await page.locator(".graphiql-container").count()).toBe(0);
    await page.close();
  });

  it("refuses introspection", async () => {
    const response = await fetch(`${herald.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __schema { queryType { name } } }" }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
  });
});
