import { comparePositions } from "../../adapters/eventstore/position.js";
import type { SeenTenantEvent } from "./waiter.js";

/**
 * The tenant events of the last `maxAgeMs` (the largest look_back), at most `maxCount` of them, by
 * index key, so that a new waiter finds an event that arrived before it asked; and each of their
 * wallets' newest group, which is what the matcher knows before the wallet-groups read model has
 * caught up. The queue and each key's list are in log (position) order, which is arrival order give
 * or take the clocks of the ingesting processes, so the oldest are at the front: eviction takes from
 * the front. Most events come in log order; one that comes late (offered at commit after a later
 * one, or read after one offered) is put in its place, a few steps from the end.
 */
export class RecentTenantEvents {
  #queue: SeenTenantEvent[] = [];
  #head = 0;
  readonly #byKey = new Map<string, SeenTenantEvent[]>();
  /** wallet_id → the newest event held that names the wallet's group. */
  readonly #groupNamers = new Map<string, SeenTenantEvent>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxCount: number,
  ) {}

  get size(): number {
    return this.#queue.length - this.#head;
  }

  add(seen: SeenTenantEvent, now: number): void {
    if (this.maxAgeMs === 0 || this.maxCount === 0) return;
    insertInOrder(this.#queue, this.#head, seen);
    if (seen.key !== undefined) {
      const list = this.#byKey.get(seen.key);
      if (list) insertInOrder(list, 0, seen);
      else this.#byKey.set(seen.key, [seen]);
    }
    if (seen.event.group_id) {
      const newest = this.#groupNamers.get(seen.event.wallet_id);
      if (!newest || comparePositions(newest.position, seen.position) < 0)
        this.#groupNamers.set(seen.event.wallet_id, seen);
    }
    this.evict(now);
  }

  /** The group named by the newest event held of this wallet; undefined when none is held. */
  groupOf(walletId: string): string | undefined {
    return this.#groupNamers.get(walletId)?.event.group_id;
  }

  /** This key's events received at or after `notBefore`, oldest first (log order). */
  *withKey(key: string, notBefore: number): Iterable<SeenTenantEvent> {
    for (const seen of this.#byKey.get(key) ?? []) {
      if (seen.receivedAt >= notBefore) yield seen;
    }
  }

  evict(now: number): void {
    const cutoff = now - this.maxAgeMs;
    for (;;) {
      const oldest = this.#queue[this.#head];
      if (!oldest || (oldest.receivedAt >= cutoff && this.size <= this.maxCount)) break;
      this.#head++;
      if (oldest.key !== undefined) {
        const list = this.#byKey.get(oldest.key);
        list?.shift();
        if (list?.length === 0) this.#byKey.delete(oldest.key);
      }
      if (this.#groupNamers.get(oldest.event.wallet_id) === oldest) this.#groupNamers.delete(oldest.event.wallet_id);
    }
    // Drop the evicted prefix once it is the larger part, so the queue does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Inserts after the last element (from `start` on) whose position is before the event's: O(1) for an event in log order. */
function insertInOrder(list: SeenTenantEvent[], start: number, seen: SeenTenantEvent): void {
  let at = list.length;
  while (at > start && comparePositions(list[at - 1]!.position, seen.position) > 0) at--;
  if (at === list.length) list.push(seen);
  else list.splice(at, 0, seen);
}
