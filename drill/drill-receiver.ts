/**
 * The webhook receiver of the drills: a real HTTP server on loopback that answers by a behaviour
 * function, records which transactions it acknowledged, and notices when one delivery is attempted
 * twice at the same time (the same `webhook-id` in flight on two connections).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ReceiverAnswer =
  | { readonly kind: "status"; readonly status: number; readonly headers?: Record<string, string> }
  | { readonly kind: "hang" };

/** Decides the answer to a request: `attempt` counts this receiver's requests for that delivery, from 1. */
export type ReceiverBehaviour = (request: {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly sequence: number;
}) => ReceiverAnswer;

export interface DrillReceiver {
  readonly url: string;
  /** Transaction signatures answered with 2xx. */
  readonly acknowledged: Set<string>;
  /** Requests per delivery id. */
  readonly requestsPerDelivery: Map<string, number>;
  readonly overlaps: string[];
  requests(): number;
  close(): Promise<void>;
}

export async function startDrillReceiver(behaviour: ReceiverBehaviour): Promise<DrillReceiver> {
  const acknowledged = new Set<string>();
  const requestsPerDelivery = new Map<string, number>();
  const inFlight = new Set<string>();
  const overlaps: string[] = [];
  let sequence = 0;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const deliveryId = String(request.headers["webhook-id"] ?? "");
    const attempt = (requestsPerDelivery.get(deliveryId) ?? 0) + 1;
    requestsPerDelivery.set(deliveryId, attempt);
    if (inFlight.has(deliveryId)) overlaps.push(deliveryId);
    inFlight.add(deliveryId);
    // In flight until we answered or the sender gave up (timeout, crash).
    const done = () => inFlight.delete(deliveryId);
    response.once("close", done);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const answer = behaviour({ deliveryId, attempt, sequence: sequence++ });
      if (answer.kind === "hang") return;
      if (answer.status >= 200 && answer.status < 300) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { signature?: string };
        if (body.signature) acknowledged.add(body.signature);
      }
      response.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
      response.end("drill");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    acknowledged,
    requestsPerDelivery,
    overlaps,
    requests: () => sequence,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const alwaysOk: ReceiverBehaviour = () => ({ kind: "status", status: 200 });
