import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyTenantToken } from "../../../src/adapters/auth/tenant-token.js";
import { CliUsageError } from "../../../src/app/commands/cli-command.js";
import { runTenantToken } from "../../../src/app/commands/tenant-token.js";
import { runCommand } from "../../support/capture-stdout.js";

const SECRET = "cli-test-secret";

const run = (args: string[]) => runCommand(runTenantToken, args);

describe("npx herald tenant-token", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("given --wallet and --group, then it prints a tenant key for them, valid for a day", async () => {
    vi.stubEnv("HERALD_TENANT_JWT_SECRET", SECRET);
    const { code, out } = await run(["--wallet", "w-1", "--group", "acme"]);
    expect(code).toBe(0);
    const now = Math.floor(Date.now() / 1000);
    expect(verifyTenantToken(SECRET, out.trim(), now)).toEqual({
      ok: true,
      scope: { kind: "tenant", walletId: "w-1", groupId: "acme" },
    });
    expect(verifyTenantToken(SECRET, out.trim(), now + 86_400).ok).toBe(false);
  });

  it("given --admin --group --ttl 5m, then it prints a tenant-admin key that expires in five minutes", async () => {
    vi.stubEnv("HERALD_TENANT_JWT_SECRET", SECRET);
    const { out } = await run(["--admin", "--group", "acme", "--ttl", "5m"]);
    const now = Math.floor(Date.now() / 1000);
    expect(verifyTenantToken(SECRET, out.trim(), now + 299)).toEqual({
      ok: true,
      scope: { kind: "tenant-admin", groupId: "acme" },
    });
    expect(verifyTenantToken(SECRET, out.trim(), now + 301)).toEqual({ ok: false, problem: "expired" });
  });

  it.each([
    [["--admin"]],
    [[]],
    [["--wallet", "w", "--ttl", "soon"]],
    [["--bogus"]],
    [["--admin", "--group", "g", "--wallet", "w"]],
  ])("given %j, then it is a usage error", async (args) => {
    vi.stubEnv("HERALD_TENANT_JWT_SECRET", SECRET);
    await expect(run(args)).rejects.toBeInstanceOf(CliUsageError);
  });

  it("prints its help", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    expect(out).toContain("tenant-admin.<jwt>");
  });
});
