import EventSource from "eventsource";

export type SseEntry =
  | { readonly kind: "open" }
  | { readonly kind: "message"; readonly id: string; readonly data: string }
  | { readonly kind: "error"; readonly status: number | undefined };

/**
 * The client Waypoint's documentation shows, `new EventSource(url, { headers })`, recording what it
 * sees so that a test can wait for it.
 */
export class SseClient {
  readonly entries: SseEntry[] = [];
  readonly source: EventSource;
  #notify: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string>) {
    this.source = new EventSource(url, { headers });
    this.source.onopen = () => this.#record({ kind: "open" });
    this.source.onmessage = (event) => this.#record({ kind: "message", id: event.lastEventId, data: event.data });
    this.source.onerror = (error) => this.#record({ kind: "error", status: error.status });
  }

  /** The first entry of that kind (and passing `test`), waiting up to `ms` for it. */
  async next<Kind extends SseEntry["kind"]>(
    kind: Kind,
    ms = 10_000,
    test: (entry: Extract<SseEntry, { kind: Kind }>) => boolean = () => true,
  ): Promise<Extract<SseEntry, { kind: Kind }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.entries.find(
        (entry) => entry.kind === kind && test(entry as Extract<SseEntry, { kind: Kind }>),
      );
      if (found) return found as Extract<SseEntry, { kind: Kind }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching ${kind} within ${ms} ms; saw ${JSON.stringify(this.entries)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#notify.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.source.close();
  }

  #record(entry: SseEntry): void {
    this.entries.push(entry);
    const waiting = this.#notify;
    this.#notify = [];
    for (const wake of waiting) wake();
  }
}
