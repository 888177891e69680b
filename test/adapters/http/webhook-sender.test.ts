import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookSender } from "../../../src/adapters/http/webhook-sender.js";
import { checkWebhookUrl } from "../../../src/domain/network-address.js";
import { type DnsServer, startDnsServer } from "../../support/dns-server.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.js";

const message = (url: string) => ({
  url,
  id: "msg_1",
  body: "{}",
  apiKey: "key",
  signingSecret: `whsec_${Buffer.alloc(24, 1).toString("base64")}`,
});

describe("webhook sender", () => {
  let receiver: WebhookReceiver;
  let hanging: Server;
  let hangingUrl: string;
  let dns: DnsServer;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    dns = await startDnsServer();
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await dns.close();
    await receiver.close();
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it("refuses loopback at connect time, by literal address and by a name that resolves to it", async () => {
    const sender = createWebhookSender({ timeoutMs: 2000, allowPrivateTargets: false, connectionsPerOrigin: 2 });
    const port = new URL(receiver.url).port;
    for (const url of [
      `${receiver.url}/ssrf`,
      `http://localhost:${port}/ssrf`,
      `http://[::ffff:127.0.0.1]:${port}/ssrf`,
    ]) {
      const report = await sender.send(message(url));
      expect(report.result).toEqual({ kind: "error", errorClass: "forbidden_address" });
    }
    expect(receiver.on("/ssrf")).toHaveLength(0);
    await sender.close();
  });

  // Loopback, private, link-local (cloud metadata), CGNAT, "this network", and the IPv6 equivalents,
  // including IPv4 carried in IPv6.
  const forbidden = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
  ];

  it.each(forbidden)(
    "refuses %s at connect time, as a literal and as the address a name resolves to",
    async (address) => {
      const sender = createWebhookSender({
        timeoutMs: 2000,
        allowPrivateTargets: false,
        connectionsPerOrigin: 2,
        resolve: dns.resolve,
      });
      const name = `ssrf-${address.replace(/[^0-9a-f]/g, "-")}.herald.test`;
      dns.script(name, [[address]]);
      const literal = address.includes(":") ? `[${address}]` : address;
      for (const url of [`http://${literal}:${new URL(receiver.url).port}/ssrf`, `https://${name}/ssrf`]) {
        expect((await sender.send(message(url))).result, url).toEqual({
          kind: "error",
          errorClass: "forbidden_address",
        });
      }
      expect(dns.questions).toContain(`${name}/A`);
      expect(receiver.on("/ssrf")).toHaveLength(0);
      await sender.close();
    },
  );

  it("connects to the address it resolved and checked, asking DNS once per connection", async () => {
    const sender = createWebhookSender({
      timeoutMs: 2000,
      allowPrivateTargets: true,
      connectionsPerOrigin: 2,
      resolve: dns.resolve,
    });
    // A name only our DNS server knows: the request can only arrive if the socket went to its answer.
    dns.script("receiver.herald.test", [["127.0.0.1"]]);
    const report = await sender.send(message(`http://receiver.herald.test:${new URL(receiver.url).port}/resolved`));
    expect(report.result).toEqual({ kind: "response", status: 200 });
    expect(receiver.on("/resolved")).toHaveLength(1);
    expect(receiver.on("/resolved")[0]!.headers.host).toBe(`receiver.herald.test:${new URL(receiver.url).port}`);
    expect(dns.questions.filter((question) => question === "receiver.herald.test/A")).toHaveLength(1);
    await sender.close();
  });

  it("catches DNS rebinding: a name accepted at creation that later resolves to loopback is refused at connect time", async () => {
    const name = "rebind.herald.test";
    const url = `http://${name}:${new URL(receiver.url).port}/rebound`;
    // At creation the name is only a name (DNS may be unreachable then, and may change later).
    expect(checkWebhookUrl(url, false).ok).toBe(true);
    // First a public address (documentation ranges are refused, so a real one: unreachable here,
    // which is fine), then the receiver's loopback address.
    dns.script(name, [["93.184.215.14"], ["127.0.0.1"]]);
    const sender = createWebhookSender({
      timeoutMs: 1000,
      allowPrivateTargets: false,
      connectionsPerOrigin: 2,
      resolve: dns.resolve,
    });
    const first = await sender.send(message(url));
    expect(first.result).not.toEqual({ kind: "error", errorClass: "forbidden_address" });
    const second = await sender.send(message(url));
    expect(second.result).toEqual({ kind: "error", errorClass: "forbidden_address" });
    expect(receiver.on("/rebound")).toHaveLength(0);
    // One question per connection: the check and the connection use the same answer.
    expect(dns.questions.filter((question) => question === `${name}/A`)).toHaveLength(2);
    await sender.close();
  });

  it("does not follow redirects, reads at most 4 KiB of a body, and times out as a whole", async () => {
    receiver.script("/redirect", [{ status: 302, headers: { location: "/elsewhere" } }]);
    receiver.script("/big", [{ status: 500, body: "y".repeat(100_000) }]);
    const sender = createWebhookSender({ timeoutMs: 500, allowPrivateTargets: true, connectionsPerOrigin: 2 });
    expect((await sender.send(message(`${receiver.url}/redirect`))).result).toEqual({ kind: "response", status: 302 });
    expect(receiver.on("/elsewhere")).toHaveLength(0);
    const big = await sender.send(message(`${receiver.url}/big`));
    expect(big.responseBody).toHaveLength(4096);
    const slow = await sender.send(message(hangingUrl));
    expect(slow.result).toEqual({ kind: "error", errorClass: "timeout" });
    expect(slow.durationMs).toBeLessThan(1500);
    const refused = await sender.send(message("http://127.0.0.1:1/"));
    expect(refused.result).toEqual({ kind: "error", errorClass: "connection" });
    await sender.close();
  });
});
