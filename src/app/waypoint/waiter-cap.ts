import type { TenantScope } from "../../domain/waypoint-matching.js";

export interface WaiterCapLimits {
  /** HERALD_SSE_MAX_WAITERS_PER_KEY: open streams per tenant key's scope (its wallet, or its group). */
  readonly perKey: number;
  /** HERALD_SSE_MAX_WAITERS_PER_ADDRESS: open streams per client address. */
  readonly perAddress: number;
}

export type WaiterSlot =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly code: "SSE_WAITERS_PER_KEY" | "SSE_WAITERS_PER_ADDRESS"; readonly detail: string };

/**
 * Caps open SSE waits per key and per client address, so that one tenant (or one host) cannot hold
 * every waiter. A key is counted by its scope, not its text: tokens minted again for one wallet share
 * its count.
 */
export class WaiterCap {
  readonly #byKey = new Map<string, number>();
  readonly #byAddress = new Map<string, number>();

  constructor(private readonly limits: WaiterCapLimits) {}

  /** A slot for one stream, released exactly once however often `release` is called. */
  acquire(scope: TenantScope, address: string): WaiterSlot {
    const key = scopeKey(scope);
    if ((this.#byKey.get(key) ?? 0) >= this.limits.perKey) {
      return {
        ok: false,
        code: "SSE_WAITERS_PER_KEY",
        detail: `this key already holds ${this.limits.perKey} open waits; close one first`,
      };
    }
    if ((this.#byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      return {
        ok: false,
        code: "SSE_WAITERS_PER_ADDRESS",
        detail: `this address already holds ${this.limits.perAddress} open waits; close one first`,
      };
    }
    add(this.#byKey, key, 1);
    add(this.#byAddress, address, 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        add(this.#byKey, key, -1);
        add(this.#byAddress, address, -1);
      },
    };
  }
}

/** Counts that fall to zero are forgotten, so the maps hold only keys with open streams. */
function add(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}

/** The static tenant-admin key is one key for every wallet, so all its waits share one count. */
function scopeKey(scope: TenantScope): string {
  switch (scope.kind) {
    case "tenant":
      return `tenant:${scope.walletId}`;
    case "tenant-admin":
      return `tenant-admin:${scope.groupId}`;
    case "tenant-admin-key":
      return "tenant-admin-key";
  }
}
