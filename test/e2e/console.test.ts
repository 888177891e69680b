import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiweToken } from "../../src/adapters/auth/siwe-token.js";
import { deliveryId } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { collectPageErrors, injectTestWallet, launchChromium, type TestBrowser } from "../support/chromium.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode, type GraphqlCall, graphqlClient, postGraphql } from "../support/graphql-client.js";
import { newAccount, signedToken } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const OUTPUT_DIR = join(process.cwd(), "test-output", "console");
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const WIDTHS = [
  { name: "1280", width: 1280, height: 900 },
  { name: "390", width: 390, height: 844 },
] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core from npm, evaluated in the page over the DevTools protocol (so the page's CSP, which
 * forbids inline scripts, need not be loosened for the test); serious and critical findings only.
 */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    return (await axe.run(document, { resultTypes: ["violations"] })).violations;
  });
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target)).join(", ")}`,
    );
}

/** At each width: a full-page screenshot and an accessibility scan (by "page-width"); then back to the wide one. */
async function capture(page: Page, name: string, findings: Map<string, string[]>): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const { name: width, ...size } of WIDTHS) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(OUTPUT_DIR, `${name}-${width}.png`), fullPage: true });
    findings.set(`${name}-${width}`, await seriousViolations(page));
  }
  await page.setViewportSize(WIDTHS[0]);
}

describe("delivery console in the browser", () => {
  let herald: TestHerald;
  let browser: TestBrowser;
  let receiver: WebhookReceiver;
  let gql: GraphqlCall;
  let api: ReturnType<typeof deliveryApi>;
  let page: Page;
  let pageErrors: string[];
  let failingEndpoint: string;
  let failedDelivery: string;
  const owner = newAccount();
  // Their keys sign tokens as `npx herald siwe-token` does, for pasting.
  const adminKey = generatePrivateKey();
  const auditorKey = generatePrivateKey();
  const admin = privateKeyToAccount(adminKey);
  const auditor = privateKeyToAccount(auditorKey);
  const [seed] = fixtureTransactions() as [Transaction];
  const a11y = new Map<string, string[]>();

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    [herald, browser] = await Promise.all([
      startTestHerald({ env: { HERALD_ADMIN_ADDRESSES: admin.address, HERALD_AUDITOR_ADDRESSES: auditor.address } }),
      launchChromium(),
    ]);
    gql = graphqlClient(herald.url, herald.herald.config.siweDomain);
    api = deliveryApi(herald.url, gql, owner);
    // One endpoint that answers, one whose receiver answers 503 (no retries: it fails at once).
    receiver.script("/down", [{ status: 503, body: "service unavailable", headers: { "retry-after": "120" } }]);
    const healthy = await api.endpointAt(`${receiver.url}/ok`);
    failingEndpoint = await api.endpointAt(`${receiver.url}/down`, 0);
    const transactionId = await api.ingest(seed, "console-1");
    failedDelivery = deliveryId(failingEndpoint, transactionId);
    await api.deliveryWhen(deliveryId(healthy, transactionId), (d) => d.status === "SUCCEEDED");
    await api.deliveryWhen(failedDelivery, (d) => d.status === "FAILED");
    await api.endpointWhen(failingEndpoint, (e) => e.status === "FAILING");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await herald?.cleanup();
    await receiver?.close();
  });

  it("bundles the console on the first visit and serves it under a strict CSP", async () => {
    const started = performance.now();
    const response = await fetch(`${herald.url}/console`);
    const firstVisitMs = Math.round(performance.now() - started);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("content-security-policy")).not.toContain("unsafe");
    const html = await response.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${herald.url}${script}`, { headers: { "accept-encoding": "br" } });
    expect(asset.headers.get("content-encoding")).toBe("br");
    const bundled = herald.logs
      .map((line) => JSON.parse(line) as { msg: string; buildMs?: number; sizes?: unknown })
      .find((line) => line.msg === "console bundled");
    expect(bundled?.buildMs).toBeGreaterThan(0);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    writeFileSync(
      join(OUTPUT_DIR, "bundle.json"),
      `${JSON.stringify({ firstVisitMs, buildMs: bundled?.buildMs, sizes: bundled?.sizes }, null, 2)}\n`,
    );
  }, 60_000);

  it("signs in through the browser wallet and says who and which role", async () => {
    page = await browser.context.newPage();
    pageErrors = collectPageErrors(page);
    const signed = await injectTestWallet(page, owner);
    await page.setViewportSize(WIDTHS[0]);
    await page.goto(`${herald.url}/console`);
    await page.getByRole("heading", { name: "Sign in to the herald console" }).waitFor();
    await capture(page, "sign-in", a11y);

    await page.getByRole("button", { name: "Sign in with Ethereum", exact: true }).click();
    const who = page.getByRole("status", { name: "Signed in" });
    await expect.poll(() => who.textContent()).toContain(`Signed in as ${owner.address}`);
    expect(await who.textContent()).toContain("subscriber");
    expect(signed[0]).toMatch(
      new RegExp(
        `^${herald.herald.config.siweDomain} wants you to sign in with your Ethereum account:\n${owner.address}\n`,
      ),
    );
  }, 60_000);

  it("lists the endpoints with the one whose receiver answers 503 marked failing", async () => {
    const row = page.getByRole("row").filter({ hasText: `${receiver.url}/down` });
    await expect.poll(() => row.textContent()).toContain("FAILING");
    await expect.poll(() => row.textContent()).toContain("0 succeeded, 0 retrying, 1 failed");
    const healthyRow = page.getByRole("row").filter({ hasText: `${receiver.url}/ok` });
    await expect.poll(() => healthyRow.textContent()).toContain("ACTIVE");
    await expect.poll(() => healthyRow.textContent()).toContain("1 succeeded");
    await capture(page, "endpoints", a11y);
  }, 30_000);

  it("opens the failing endpoint and its failed delivery, and reads its attempts with their status codes", async () => {
    await page.getByRole("link", { name: `${receiver.url}/down` }).click();
    await page.getByRole("heading", { name: /^Endpoint / }).waitFor();
    await page.getByRole("img", { name: /1 failed/ }).waitFor();
    const logRow = page
      .getByRole("region", { name: "Delivery log entries" })
      .getByRole("row")
      .filter({ hasText: "FAILED" });
    await expect.poll(() => logRow.textContent()).toContain("503");
    await capture(page, "endpoint", a11y);

    await logRow.getByRole("link").click();
    await page.getByRole("heading", { name: "Attempt 1: HTTP 503" }).waitFor();
    const attempt = page.getByRole("list", { name: "Attempts" }).getByRole("listitem").first();
    expect(await attempt.textContent()).toContain("Retry-After120");
    expect(await page.getByLabel("Transaction JSON").textContent()).toContain(`"collectionId"`);
    await capture(page, "delivery", a11y);
  }, 30_000);

  it("redelivers, and the new attempt appears on the page without a reload", async () => {
    receiver.script("/down", [{ status: 200, body: "back" }]);
    // A mark on the document: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await page.getByRole("button", { name: "Redeliver" }).click();
    await page.getByRole("heading", { name: "Attempt 2: HTTP 200" }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.getByRole("button", { name: "Redeliver" }).isDisabled()).toBe(true);
  }, 30_000);

  it("recover counts the failed deliveries in the window before the user confirms", async () => {
    receiver.script("/down", [{ status: 503 }]);
    const another = deliveryId(failingEndpoint, await api.ingest(seed, "console-2"));
    await api.deliveryWhen(another, (d) => d.status === "FAILED");
    await page.goto(`${herald.url}/console#/endpoints/${failingEndpoint}/recover`);
    await expect
      .poll(() => page.getByText(/failed deliver(y|ies) in this window/).textContent())
      .toContain("1 failed delivery in this window");
    await page.getByRole("button", { name: "Recover…" }).click();
    await page.getByRole("alertdialog").getByText("Send 1 failed delivery again?").waitFor();
    await capture(page, "recover", a11y);
    receiver.script("/down", [{ status: 200 }]);
    await page.getByRole("button", { name: "Send 1 again" }).click();
    await page.getByText("Scheduled 1 deliveries again.").waitFor();
    await api.deliveryWhen(another, (d) => d.status === "SUCCEEDED");
  }, 30_000);

  it("audit shows the trail with actors and correlation ids, and the configuration as of a chosen time", async () => {
    await page.goto(`${herald.url}/console#/endpoints/${failingEndpoint}/audit`);
    const trail = page.getByRole("region", { name: "Audit trail events" });
    await expect.poll(() => trail.textContent()).toContain("WebhookEndpointCreated");
    expect(await trail.textContent()).toContain(owner.address);
    expect(await trail.textContent()).toContain("WebhookEndpointFailing");
    // Before the endpoint existed: the API's NOT_FOUND, shown as its message.
    await page.getByLabel("Date and time").fill("2020-01-01T00:00:00");
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/not found/i);
    await capture(page, "audit", a11y);
    expect(pageErrors).toEqual([]);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to the herald console" }).waitFor();
    await page.close();
  }, 30_000);

  it("an auditor signed in with a pasted token finds Redeliver disabled, with the reason", async () => {
    const { token, address } = await createSiweToken({
      privateKey: auditorKey,
      domain: herald.herald.config.siweDomain,
      ttlS: 3600,
    });
    const auditorPage = await browser.context.newPage();
    await auditorPage.goto(`${herald.url}/console#/deliveries/${failedDelivery}`);
    // By keyboard alone: the token field, then Tab to its button and Enter.
    await auditorPage.getByLabel("SIWE token").focus();
    await auditorPage.keyboard.insertText(token);
    await auditorPage.keyboard.press("Tab");
    expect(await auditorPage.evaluate(() => document.activeElement?.textContent)).toBe("Use this token");
    await auditorPage.keyboard.press("Enter");
    const who = auditorPage.getByRole("status", { name: "Signed in" });
    await expect.poll(() => who.textContent()).toContain(address);
    expect(await who.textContent()).toContain("auditor");
    const redeliver = auditorPage.getByRole("button", { name: "Redeliver" });
    await redeliver.waitFor();
    expect(await redeliver.isDisabled()).toBe(true);
    expect(await redeliver.getAttribute("title")).toMatch(/Auditors read everything and change nothing/);
    await auditorPage.goto(`${herald.url}/console#/endpoints/${failingEndpoint}/recover`);
    const recover = auditorPage.getByRole("button", { name: "Recover…" });
    await recover.waitFor();
    expect(await recover.isDisabled()).toBe(true);
    expect(await recover.getAttribute("title")).toMatch(/Auditors read everything and change nothing/);
    // Auditors see every subscriber's endpoints, and may filter by one.
    await auditorPage.goto(`${herald.url}/console#/endpoints`);
    await auditorPage.getByLabel("Subscriber address").fill(owner.address);
    await auditorPage.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(() => auditorPage.getByText(/endpoints? of/).textContent())
      .toContain(`2 endpoints of ${owner.address}`);
    await auditorPage.close();
  }, 30_000);

  it("an admin pages through a subscriber's 30 endpoints and sorts them", async () => {
    const many = newAccount();
    const urls = Array.from({ length: 30 }, (_, index) => `${receiver.url}/many-${String(index).padStart(2, "0")}`);
    const created = await Promise.all(
      urls.map((url) =>
        gql(
          `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { webhookEndpoint { webhookId } } }`,
          { url },
          many,
        ),
      ),
    );
    expect(created.flatMap((response) => response.errors ?? [])).toEqual([]);
    const { token } = await createSiweToken({
      privateKey: adminKey,
      domain: herald.herald.config.siweDomain,
      ttlS: 3600,
    });
    const adminPage = await browser.context.newPage();
    await adminPage.goto(`${herald.url}/console`);
    await adminPage.getByLabel("SIWE token").fill(token);
    await adminPage.getByRole("button", { name: "Use this token" }).click();
    await adminPage.getByLabel("Subscriber address").fill(many.address);
    await adminPage.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(() => adminPage.getByText(/endpoints? of/).textContent())
      .toContain(`30 endpoints of ${many.address}`);
    const urlCells = adminPage.getByRole("region", { name: "Endpoints" }).locator("td.url a");
    await expect.poll(() => urlCells.count()).toBe(25);
    // The page shown sorted by URL, ascending, then descending.
    const first = await urlCells.allTextContents();
    expect(first).toEqual(first.toSorted());
    await adminPage.getByRole("button", { name: /^URL/ }).click();
    expect(await urlCells.allTextContents()).toEqual(first.toSorted().toReversed());
    await adminPage.getByRole("button", { name: "Next page" }).click();
    await expect.poll(() => urlCells.count()).toBe(5);
    const second = await urlCells.allTextContents();
    expect(second).toEqual(second.toSorted().toReversed());
    expect([...first, ...second].toSorted()).toEqual(urls);
    await adminPage.getByRole("button", { name: "Previous page" }).click();
    await expect.poll(() => urlCells.count()).toBe(25);
    await adminPage.getByRole("button", { name: "Sign out" }).click();
    await adminPage.close();
  }, 60_000);

  it("an expired token sends the user back to sign-in with the reason", async () => {
    const { token } = await createSiweToken({ privateKey: adminKey, domain: herald.herald.config.siweDomain, ttlS: 8 });
    const adminPage = await browser.context.newPage();
    await adminPage.goto(`${herald.url}/console`);
    await adminPage.getByLabel("SIWE token").fill(token);
    await adminPage.getByRole("button", { name: "Use this token" }).click();
    await expect.poll(() => adminPage.getByRole("status", { name: "Signed in" }).textContent()).toContain("admin");
    await adminPage.getByRole("alert").filter({ hasText: "Your sign-in expired" }).waitFor({ timeout: 15_000 });
    expect(await adminPage.getByRole("heading", { name: "Sign in to the herald console" }).isVisible()).toBe(true);
    await adminPage.close();
  }, 30_000);

  it("has no serious accessibility violations on any page", () => {
    const pages = ["audit", "delivery", "endpoint", "endpoints", "recover", "sign-in"];
    expect([...a11y.keys()].toSorted()).toEqual(
      pages.flatMap((name) => WIDTHS.map((width) => `${name}-${width.name}`)).toSorted(),
    );
    expect(Object.fromEntries(a11y)).toEqual(Object.fromEntries([...a11y.keys()].map((key) => [key, []])));
  });

  it("viewer answers each role its address and role, and refuses no token", async () => {
    const viewer = "{ viewer { address role } }";
    for (const [account, role] of [
      [owner, "SUBSCRIBER"],
      [admin, "ADMIN"],
      [auditor, "AUDITOR"],
    ] as const) {
      expect((await gql(viewer, {}, account)).data?.viewer).toEqual({ address: account.address, role });
    }
    expect(errorCode(await postGraphql(herald.url, viewer, {}))).toBe("UNAUTHENTICATED");
    const expired = await signedToken(owner, herald.herald.config.siweDomain, {
      issuedAt: new Date(Date.now() - 7_200_000),
      expirationTime: new Date(Date.now() - 3_600_000),
    });
    expect(errorCode(await postGraphql(herald.url, viewer, {}, expired))).toBe("UNAUTHENTICATED");
  });
});

describe("delivery console switched off (HERALD_CONSOLE=false)", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ nats: false, env: { HERALD_CONSOLE: "false" } });
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("answers 404 at /console", async () => {
    expect((await fetch(`${herald.url}/console`)).status).toBe(404);
  });
});
