import EventSource from "eventsource";
import { vi } from "vitest";

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

  constructor(url: string, headers: Record<string, string>) {
    this.source = new EventSource(url, { headers });
    this.source.onopen = () => this.entries.push({ kind: "open" });
    this.source.onmessage = (event) => this.entries.push({ kind: "message", id: event.lastEventId, data: event.data });
    this.source.onerror = (error) => this.entries.push({ kind: "error", status: error.status });
  }

  /** The first entry of that kind (and passing `test`), waiting up to `ms` for it. */
  async next<Kind extends SseEntry["kind"]>(
    kind: Kind,
    ms = 10_000,
    test: (entry: Extract<SseEntry, { kind: Kind }>) => boolean = () => true,
  ): Promise<Extract<SseEntry, { kind: Kind }>> {
    return vi.waitFor(
      () => {
        const found = this.entries.find(
          (entry) => entry.kind === kind && test(entry as Extract<SseEntry, { kind: Kind }>),
        );
        if (!found) throw new Error(`no matching ${kind}; saw ${JSON.stringify(this.entries)}`);
        return found as Extract<SseEntry, { kind: Kind }>;
      },
      { timeout: ms, interval: 10 },
    );
  }

  close(): void {
    this.source.close();
  }
}
