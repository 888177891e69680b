import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookSender } from "../../../src/adapters/http/webhook-sender.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.js";

const message = (url: string) => ({ url, id: "msg_1", body: "{}", apiKey: "key", signingSecret: `whsec_${Buffer.alloc(24, 1).toString("base64")}` });

describe("webhook sender", () => {
  let receiver: WebhookReceiver;
  let hanging: Server;
  let hangingUrl: string;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await receiver.close();
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it("refuses loopback at connect time, by literal address and by a name that resolves to it", async () => {
    const sender = createWebhookSender({ timeoutMs: 2000, allowPrivateTargets: false, connectionsPerOrigin: 2 });
    const port = new URL(receiver.url).port;
    for (const url of [`${receiver.url}/ssrf`, `http://localhost:${port}/ssrf`, `http://[::ffff:127.0.0.1]:${port}/ssrf`]) {
      const report = await sender.send(message(url));
      expect(report.result).toEqual({ kind: "error", errorClass: "forbidden_address" });
    }
    expect(receiver.on("/ssrf")).toHaveLength(0);
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
