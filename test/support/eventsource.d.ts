/** The parts of `eventsource` 2 (CommonJS, no bundled types) that the tests use, as its README documents them. */
declare module "eventsource" {
  interface EventSourceMessage {
    readonly type: string;
    readonly data: string;
    readonly lastEventId: string;
  }
  interface EventSourceError {
    readonly type: "error";
    readonly status?: number;
    readonly message?: string;
  }
  class EventSource {
    constructor(url: string, init?: { headers?: Record<string, string> });
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSED: 2;
    readonly readyState: 0 | 1 | 2;
    reconnectInterval: number;
    onopen: (() => void) | null;
    onmessage: ((event: EventSourceMessage) => void) | null;
    onerror: ((error: EventSourceError) => void) | null;
    addEventListener(type: string, listener: (event: EventSourceMessage) => void): void;
    close(): void;
  }
  export = EventSource;
}
