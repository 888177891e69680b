import type { EventStore, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import { comparePositions } from "../../src/adapters/eventstore/position.js";

/**
 * Resolves once readers can see the append at `position`. On the PostgreSQL log that is once every
 * older transaction in the cluster has ended (README.md, "Event store backends"), and other test runs
 * share the cluster: wait for it before asserting on what a read or a rebuild saw.
 */
export async function untilVisible(store: EventStore, position: ReadFrom, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (comparePositions(await store.headPosition(), position) < 0) {
    if (Date.now() > deadline) throw new Error("timed out waiting for an append to become visible");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
