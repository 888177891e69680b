/**
 * A client that reads Waypoint the way acapy-cloud's own `app/tests/util/sse_listener.py` does (every
 * acapy-cloud e2e test waits through it): read the stream line by line; the first `data: ` line is the
 * event, whose `payload` it returns; empty lines and `: ping` comments are skipped; any other line is
 * only noted ("Unexpected SSE line"); the stream ending without a `data: ` line is a timeout. Written
 * anew in TypeScript from that behaviour, so a test can run it against herald.
 */
export class SseListenerTimeoutError extends Error {
  constructor(field: string, fieldId: string, desiredState: string) {
    super(
      `Requested filtered event was not returned by server. Field: ${field}, ID: ${fieldId}, Desired State: ${desiredState}`,
    );
    this.name = "SseListenerTimeoutError";
  }
}

export interface SseListenerResult {
  /** `json.loads(line[6:])["payload"]`. */
  readonly payload: unknown;
  /** The `data: ` line's text, exactly as received. */
  readonly data: string;
  /** Lines the Python listener would have logged as unexpected (herald's `id:` line). */
  readonly unexpected: readonly string[];
}

export class SseListener {
  /** Every line read by the last wait, for assertions on the stream's shape. */
  lines: string[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly walletId: string,
    private readonly topic: string,
    private readonly apiKey: string,
  ) {}

  async waitForEvent(
    field: string,
    fieldId: string,
    desiredState: string,
    options: { lookBack?: number; query?: string } = {},
  ): Promise<SseListenerResult> {
    const params = new URLSearchParams({ look_back: String(options.lookBack ?? 15) });
    const url = `${this.baseUrl}/v1/sse/${this.walletId}/${this.topic}/${field}/${fieldId}/${desiredState}?${params}${options.query ?? ""}`;
    const response = await fetch(url, { headers: { "x-api-key": this.apiKey } });
    if (response.status !== 200) throw new Error(`SSE answered ${response.status}: ${await response.text()}`);
    this.lines = [];
    const unexpected: string[] = [];
    const reader = response.body!.getReader();
    for await (const line of readLines(reader)) {
      this.lines.push(line);
      if (line.startsWith("data: ")) {
        const data = line.slice(6);
        await reader.cancel().catch(() => {});
        return { payload: (JSON.parse(data) as { payload: unknown }).payload, data, unexpected };
      }
      if (line === "" || line.startsWith(": ping")) continue;
      unexpected.push(line);
    }
    throw new SseListenerTimeoutError(field, fieldId, desiredState);
  }
}

/** httpx's aiter_lines: split on \n, \r\n or \r, without the separator; a last line without one counts. */
async function* readLines(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    pending += decoder.decode(chunk.value, { stream: true });
    const parts = pending.split(/\r\n|\r|\n/);
    pending = parts.pop()!;
    yield* parts;
  }
  pending += decoder.decode();
  if (pending !== "") yield pending;
}
