import { vi } from "vitest";
import type { EventStore, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import { comparePositions } from "../../src/adapters/eventstore/position.js";

/**
 * Resolves once readers can see the append at `position`. On the PostgreSQL log that is once every
 * older transaction in the cluster has ended (README.md, "Event store backends"), and other test runs
 * share the cluster: wait for it before asserting on what a read or a rebuild saw.
 */
export async function untilVisible(
  store: Pick<EventStore, "headPosition">,
  position: ReadFrom,
  timeout = 20_000,
): Promise<void> {
  await vi.waitFor(
    async () => {
      const head = await store.headPosition();
      if (comparePositions(head, position) < 0) throw new Error("an append is not visible yet");
    },
    { timeout, interval: 20 },
  );
}
