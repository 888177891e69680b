import { describe, expect, it } from "vitest";
import { checkWebhookUrl, isForbiddenAddress } from "../../src/domain/network-address.js";

describe("isForbiddenAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:7f00:1",
    "[::1]",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
  ])("refuses %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  // IPv6 ranges that embed or translate IPv4: one row per range, the reason beside it.
  it.each([
    ["::ffff:10.0.0.1", "IPv4-mapped ::ffff:0:0/96, private inside"],
    ["::ffff:a00:1", "IPv4-mapped, hex form"],
    ["::ffff:0:7f00:1", "IPv4-translated ::ffff:0:0:0/96, loopback inside"],
    ["::ffff:0:808:808", "IPv4-translated, public inside: refused whole"],
    ["::ffff:0:8.8.8.8", "IPv4-translated, dotted tail"],
    ["64:ff9b::127.0.0.1", "NAT64 well-known 64:ff9b::/96, loopback inside"],
    ["64:ff9b::c0a8:101", "NAT64 well-known, private inside (hex)"],
    ["64:ff9b:1::808:808", "local-use NAT64 64:ff9b:1::/48"],
    ["64:ff9b:1:ffff::1", "local-use NAT64, far end"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo 2001::/32"],
    ["2001::1", "Teredo, first address"],
    ["2001:1::1", "IETF special block 2001::/23"],
    ["2001:1ff:ffff::1", "IETF special block, far end"],
    ["2002:c0a8:101::1", "6to4 2002::/16, private inside"],
    ["2002:7f00:1:1::1", "6to4, loopback inside"],
    ["::127.0.0.1", "IPv4-compatible ::/96"],
    ["::8.8.8.8", "IPv4-compatible, public inside: refused whole"],
    ["::2", "IPv4-compatible, hex form"],
  ])("refuses %s (%s)", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "169.255.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
    "2001:200::1",
    "2001:4860:4860::8888",
  ])("allows %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe("checkWebhookUrl", () => {
  it.each([
    "https://example.com/webhook",
    "https://example.com./webhook",
    "https://example.com.../webhook",
    "https://localhost.example.com/hook",
  ])("accepts the public URL %s", (url) => {
    expect(checkWebhookUrl(url, false).ok).toBe(true);
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
    ["http://localhost./hook", "private"],
    ["http://localhost../hook", "private"],
    ["http://LOCALHOST.../hook", "private"],
    ["http://api.localhost/hook", "private"],
    ["http://a.b.localhost../hook", "private"],
    ["http://example..../hook", "private"],
    ["http://[::ffff:0:7f00:1]/hook", "private"],
    ["http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "private"],
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
