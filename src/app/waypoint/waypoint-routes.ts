import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { formatPosition } from "../../adapters/eventstore/position.js";
import { pingComment, SseStream } from "./sse-stream.js";
import type { Waiter } from "./waiter.js";
import { WaiterCap, type WaiterCapLimits } from "./waiter-cap.js";
import type { WaypointMatcher } from "./waypoint-matcher.js";
import {
  parseWaypointRequest,
  type WaypointParams,
  type WaypointRequest,
  WaypointRequestError,
} from "./waypoint-request.js";

/** How an SSE request ended: refused before a stream opened, or how its stream closed. */
export type WaypointOutcome = "refused" | "already-answered" | "match" | "timeout" | "disconnect" | "shutdown";

export interface WaypointRoutesOptions {
  readonly matcher: WaypointMatcher;
  readonly count: (outcome: WaypointOutcome) => void;
  readonly tenantJwtSecret: string | undefined;
  readonly tenantAdminApiKey: string | undefined;
  readonly timeoutS: number;
  readonly keepaliveS: number;
  readonly maxLookBackS: number;
  readonly maxWaiters: WaiterCapLimits;
}

/**
 * Waypoint's path, and the same under the prefixes of acapy-cloud's example URLs (the key decides the
 * scope, not the prefix).
 */
const PREFIXES = ["", "/tenant", "/tenant-admin"] as const;
const PATH = "/v1/sse/:wallet_id/:topic/:field/:field_id/:desired_state";

/**
 * `GET /v1/sse/{wallet_id}/{topic}/{field}/{field_id}/{desired_state}`: waits for one tenant event and
 * sends it as a default SSE message, then closes. No match in time: the stream just closes, as
 * acapy-cloud's does, so a client that reads the first `data:` line as the event never mistakes a
 * timeout for one.
 */
export function registerWaypointRoutes(http: FastifyInstance, options: WaypointRoutesOptions): void {
  const rules = {
    tenantJwtSecret: options.tenantJwtSecret,
    tenantAdminApiKey: options.tenantAdminApiKey,
    maxLookBackS: options.maxLookBackS,
    groupOfWallet: (walletId: string) => options.matcher.groupOfWallet(walletId),
  };
  const cap = new WaiterCap(options.maxWaiters);
  const handler = async (request: FastifyRequest<{ Params: WaypointParams }>, reply: FastifyReply) => {
    let parsed: WaypointRequest;
    try {
      parsed = await parseWaypointRequest(request, rules);
    } catch (error) {
      if (!(error instanceof WaypointRequestError)) throw error;
      options.count("refused");
      return reply.status(error.statusCode).send(error.toJSON());
    }
    // Every id this stream sends is a match's, so a client that has one already got its answer;
    // 204 is how SSE tells EventSource to stop reconnecting.
    if (parsed.lastEventId) {
      options.count("already-answered");
      return reply.status(204).send();
    }
    if (options.matcher.stopping)
      return reply.status(503).send({ error: "herald is shutting down", code: "WAYPOINT_STOPPING" });
    const slot = cap.acquire(parsed.scope, request.ip);
    if (!slot.ok) {
      options.count("refused");
      return reply.status(429).send({ detail: slot.detail, code: slot.code });
    }
    openStream(request, reply, parsed, options, slot.release);
    return reply;
  };
  // No HEAD twin: it would hold a waiter open for a request that can never receive the event.
  for (const prefix of PREFIXES) http.get(`${prefix}${PATH}`, { exposeHeadRoute: false }, handler);
}

function openStream(
  request: FastifyRequest,
  reply: FastifyReply,
  parsed: WaypointRequest,
  options: WaypointRoutesOptions,
  release: () => void,
): void {
  const stream = new SseStream(reply.raw);
  let cancel = () => {};
  let timeout: NodeJS.Timeout | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  let finished = false;
  const finish = (outcome: Exclude<WaypointOutcome, "refused" | "already-answered">) => {
    if (finished) return;
    finished = true;
    release();
    options.count(outcome);
    cancel();
    clearTimeout(timeout);
    clearInterval(keepalive);
    stream.end();
  };
  const waiter: Waiter = {
    wait: parsed.wait,
    scope: parsed.scope,
    notBefore: Date.now() - parsed.lookBackS * 1000,
    answer(match) {
      stream.send({ id: formatPosition(match.position), data: match.text });
      finish("match");
    },
    shutdown: () => finish("shutdown"),
  };

  // From here on the raw response is ours; fastify neither sends nor logs a reply for it.
  reply.hijack();
  stream.open({ "x-request-id": request.id });
  stream.onClose(() => finish("disconnect"));
  timeout = setTimeout(() => finish("timeout"), options.timeoutS * 1000);
  keepalive = setInterval(() => stream.comment(pingComment(new Date())), options.keepaliveS * 1000);
  // Last: the window may answer at once, which calls finish("match").
  cancel = options.matcher.wait(waiter);
}
