import { getOrCreate } from "../../domain/get-or-create.js";
import type { TenantEvent } from "../../domain/ingest-events.js";
import { payloadFieldText, waitKeyOfWait } from "../../domain/waypoint-matching.js";
import type { Waiter } from "./waiter.js";

type FieldValues = Map<string, Set<Waiter>>;

/**
 * Waiters by (wallet, topic, desired state), then by field, then by the awaited value. An event finds
 * its bucket with one lookup and then one lookup per distinct field waited on in that bucket (one or
 * two in practice: connection_id, proof_id, …), so its cost does not grow with the number of waiters.
 */
export class WaiterIndex {
  readonly #buckets = new Map<string, Map<string, FieldValues>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(waiter: Waiter): void {
    const { field, fieldId } = waiter.wait;
    const key = waitKeyOfWait(waiter.wait);
    const fields = getOrCreate(this.#buckets, key, () => new Map());
    const values = getOrCreate(fields, field, () => new Map());
    const waiters = getOrCreate(values, fieldId, () => new Set());
    if (!waiters.has(waiter)) {
      waiters.add(waiter);
      this.#size++;
    }
  }

  /** False when the waiter was not (or no longer) in the index. Empty maps are dropped so nothing leaks. */
  remove(waiter: Waiter): boolean {
    const { field, fieldId } = waiter.wait;
    const key = waitKeyOfWait(waiter.wait);
    const fields = this.#buckets.get(key);
    const values = fields?.get(field);
    const waiters = values?.get(fieldId);
    if (!fields || !values || !waiters?.delete(waiter)) return false;
    this.#size--;
    if (waiters.size === 0) values.delete(fieldId);
    if (values.size === 0) fields.delete(field);
    if (fields.size === 0) this.#buckets.delete(key);
    return true;
  }

  /** The waiters whose wallet, topic, state, field and value this event carries (scope is the caller's check). */
  candidates(event: TenantEvent, key: string): Waiter[] {
    const fields = this.#buckets.get(key);
    if (!fields) return [];
    const found: Waiter[] = [];
    for (const [field, values] of fields) {
      const text = payloadFieldText(event.payload, field);
      const waiters = text === undefined ? undefined : values.get(text);
      if (waiters) found.push(...waiters);
    }
    return found;
  }

  /** Removes and returns every waiter. */
  drain(): Waiter[] {
    const all: Waiter[] = [];
    for (const fields of this.#buckets.values()) {
      for (const values of fields.values()) for (const waiters of values.values()) all.push(...waiters);
    }
    this.#buckets.clear();
    this.#size = 0;
    return all;
  }
}
