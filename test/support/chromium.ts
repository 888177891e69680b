import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { PrivateKeyAccount } from "viem/accounts";

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's Chromium with the flags of STACK.md; a fresh profile per browser. */
export async function launchChromium(): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), "herald-chromium-"));
  // Playwright takes the profile directory here rather than as --user-data-dir.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1440, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Gives the page an EIP-1193 `window.ethereum` whose key stays in Node: each request is forwarded
 * here and `personal_sign` signs with `account`. Returns the messages it signed.
 */
export async function injectTestWallet(page: Page, account: PrivateKeyAccount): Promise<string[]> {
  const signed: string[] = [];
  await page.exposeFunction("heraldTestWallet", async (method: string, params: unknown[]) => {
    if (method === "eth_requestAccounts") return [account.address.toLowerCase()];
    if (method === "eth_chainId") return "0x1";
    if (method === "personal_sign") {
      const [hex] = params as [`0x${string}`];
      signed.push(Buffer.from(hex.slice(2), "hex").toString("utf8"));
      return account.signMessage({ message: { raw: hex } });
    }
    throw Object.assign(new Error(`test wallet: ${method} is not supported`), { code: 4200 });
  });
  await page.addInitScript(() => {
    const forward = (window as unknown as { heraldTestWallet(method: string, params: unknown[]): Promise<unknown> })
      .heraldTestWallet;
    (window as unknown as { ethereum: unknown }).ethereum = {
      request: ({ method, params }: { method: string; params?: unknown[] }) => forward(method, params ?? []),
    };
  });
  return signed;
}

/** Script errors and Content-Security-Policy violations, as the page reports them. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => void (message.type() === "error" && errors.push(message.text())));
  return errors;
}
