import type { ServerResponse } from "node:http";

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // nginx and similar proxies buffer responses unless told not to, which would hold the match back.
  "x-accel-buffering": "no",
  connection: "keep-alive",
} as const;

/** A Server-Sent Events response on a raw Node response that fastify has handed over (reply.hijack()). */
export class SseStream {
  #ended = false;

  constructor(private readonly response: ServerResponse) {}

  /** Sends the status and headers now, so the client sees the stream open before any event. */
  open(extraHeaders: Record<string, string>): void {
    // Answered: the stream may sit silent between keep-alives longer than an idle connection is allowed
    // (HERALD_HTTP_CONNECTION_TIMEOUT_MS); it ends on its own (match, HERALD_SSE_TIMEOUT_S, disconnect).
    this.response.setTimeout(0);
    this.response.writeHead(200, { ...SSE_HEADERS, ...extraHeaders });
    this.response.flushHeaders();
  }

  /** A default message, which fires EventSource's onmessage. */
  send(message: { readonly id?: string; readonly data: string }): void {
    if (this.#ended) return;
    let text = "";
    if (message.id !== undefined) text += `id: ${message.id}\n`;
    // A data field cannot hold a line break: each line becomes its own data line, which EventSource
    // joins with \n (compact JSON, as publishers send it, is one line).
    for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
    this.response.write(`${text}\n`);
  }

  /** A comment line: EventSource ignores it, proxies see traffic. */
  comment(text: string): void {
    if (!this.#ended) this.response.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.response.end();
  }

  /** Runs once when the connection closes, whoever closed it. */
  onClose(listener: () => void): void {
    this.response.once("close", listener);
  }
}

/**
 * The keep-alive comment as sse-starlette (acapy-cloud's SSE library) writes it: `ping - ` and
 * Python's `str(datetime.now(timezone.utc))`, whose fraction is microseconds and is left out when zero.
 */
export function pingComment(at: Date): string {
  const iso = at.toISOString();
  const ms = at.getUTCMilliseconds();
  return `ping - ${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === 0 ? "" : `.${String(ms).padStart(3, "0")}000`}+00:00`;
}
