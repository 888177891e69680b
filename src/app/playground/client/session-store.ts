import type { SignedIn } from "../../web/client/siwe-token.js";

/** Who is signed in, shared by the sign-in panel and the part that keeps every tab's headers current. */
export interface SessionStore {
  get(): SignedIn | undefined;
  set(session: SignedIn): void;
  subscribe(listener: () => void): () => void;
}

export function createSessionStore(): SessionStore {
  let current: SignedIn | undefined;
  const listeners = new Set<() => void>();
  return {
    get: () => current,
    set(session) {
      current = session;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
