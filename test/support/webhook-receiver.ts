import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { vi } from "vitest";

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Date.now() when the body was complete. */
  readonly at: number;
}

export interface ScriptedResponse {
  /** Never answer: the request stays open until the client gives up or the receiver closes. */
  readonly hang?: true;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * A real HTTP server on loopback that plays webhook endpoint: each path answers from its script in
 * order (the last answer repeats), 200 when it has none, and every request is recorded.
 */
export interface WebhookReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  script(path: string, responses: readonly ScriptedResponse[]): void;
  on(path: string): ReceivedRequest[];
  /** Resolves once `path` (or any path when undefined) has received `count` requests. */
  waitFor(count: number, path?: string, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const scripts = new Map<string, ScriptedResponse[]>();
  const served = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      const script = scripts.get(path) ?? [];
      const index = served.get(path) ?? 0;
      served.set(path, index + 1);
      const response = script[Math.min(index, script.length - 1)] ?? { status: 200 };
      if (response.hang) return;
      res.writeHead(response.status, { "content-type": "text/plain", ...response.headers });
      res.end(response.body ?? "");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const on = (path: string) => requests.filter((request) => request.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (path, responses) => void scripts.set(path, [...responses]),
    on,
    waitFor: (count, path, timeout = 20_000) =>
      vi.waitFor(
        () => {
          const matching = path === undefined ? requests : on(path);
          if (matching.length < count)
            throw new Error(`receiver: ${matching.length} of ${count} requests on ${path ?? "any path"}`);
          return matching;
        },
        { timeout, interval: 20 },
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
