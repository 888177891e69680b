/**
 * The SSE clients of bench/sse.ts, in a process of their own so that their sockets neither share
 * herald's file-descriptor limit nor count in its memory. Driven over IPC:
 *   { connect: { urls, apiKey } } → opens them all, replies { connected }
 *   then { matched: { index, at } } for every stream that receives a match (at: epoch ms, sub-ms)
 *   { close: true } → closes everything and exits.
 */
import { Agent, request } from "node:http";

type Command = { connect: { urls: string[]; apiKey: string; concurrency: number } } | { close: true };

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const open: (() => void)[] = [];
const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send?.(message);

function connect(url: string, apiKey: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { "x-api-key": apiKey, accept: "text/event-stream" } }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`stream ${index}: status ${response.statusCode}`));
      let matched = false;
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (!matched && chunk.includes("\ndata: ")) {
          matched = true;
          send({ matched: { index, at: now() } });
        }
      });
      response.on("error", () => {});
      open.push(() => req.destroy());
      resolve();
    });
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}

process.on("message", async (command: Command) => {
  if ("close" in command) {
    for (const close of open) close();
    process.exit(0);
  }
  const { urls, apiKey, concurrency } = command.connect;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const index = next++;
        await connect(urls[index]!, apiKey, index);
      }
    }),
  );
  send({ connected: open.length });
});
