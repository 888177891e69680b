import { describe, expect, it } from "vitest";
import { checkWebhookUrl, isForbiddenAddress } from "../../src/domain/network-address.js";

describe("isForbiddenAddress", () => {
  it.each([
    "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.255", "0.0.0.0", "224.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:7f00:1",
    "[::1]", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
  ])("refuses %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"])(
    "allows %s",
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );
});

describe("checkWebhookUrl", () => {
  it("accepts a public https URL", () => {
    expect(checkWebhookUrl("https://example.com/webhook", false).ok).toBe(true);
  });

  it.each([
    ["ftp://example.com/x", "http or https"],
    ["not a url", "absolute"],
    ["https://user:pw@example.com/", "credentials"],
    ["http://localhost:3000/hook", "private"],
    ["http://127.0.0.1/hook", "private"],
    ["http://[::1]/hook", "private"],
    ["http://169.254.169.254/latest/meta-data", "private"],
    ["http://intranet/hook", "private"],
    [`https://example.com/${"a".repeat(2048)}`, "2048"],
  ])("refuses %s", (url, reason) => {
    const result = checkWebhookUrl(url, false);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("allows private targets when configured to", () => {
    expect(checkWebhookUrl("http://127.0.0.1:8080/hook", true).ok).toBe(true);
  });
});
