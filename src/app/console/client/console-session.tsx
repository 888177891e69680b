import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { SignedIn } from "../../web/client/siwe-token.js";
import type { ConsoleSettings } from "./console-settings.js";
import { ApiError, graphqlRequest } from "./graphql-request.js";

export type Role = "SUBSCRIBER" | "ADMIN" | "AUDITOR";

/** Signed in, and herald has said who that is. */
export interface Session extends SignedIn {
  readonly role: Role;
}

interface SessionContext {
  readonly settings: ConsoleSettings;
  readonly session: Session | undefined;
  /** Why the last session ended, when herald ended it (an expired token) rather than the user. */
  readonly signedOutBecause: string | undefined;
  /** Asks herald who the token signs in (the `viewer` query); throws its refusal. */
  signIn(signedIn: SignedIn): Promise<void>;
  signOut(reason?: string): void;
  /** A GraphQL request with the session's token; a refused token ends the session. */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

// A bearer credential: kept for this tab only (sessionStorage), never in localStorage.
const STORAGE_KEY = "herald-console-session";
const Context = createContext<SessionContext | undefined>(undefined);

export function SessionProvider({ settings, children }: { settings: ConsoleSettings; children: ReactNode }) {
  const queries = useQueryClient();
  const [session, setSession] = useState<Session | undefined>(restore);
  const [signedOutBecause, setSignedOutBecause] = useState<string>();

  const signOut = useCallback(
    (reason?: string) => {
      sessionStorage.removeItem(STORAGE_KEY);
      setSession(undefined);
      setSignedOutBecause(reason);
      queries.clear();
    },
    [queries],
  );

  const signIn = useCallback(
    async (signedIn: SignedIn) => {
      const { viewer } = await graphqlRequest<{ viewer: { address: string; role: Role } }>(
        settings.graphqlPath,
        signedIn.token,
        "{ viewer { address role } }",
      );
      const next: Session = { ...signedIn, address: viewer.address, role: viewer.role };
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ ...next, expiresAt: next.expiresAt.toISOString() }));
      setSignedOutBecause(undefined);
      setSession(next);
    },
    [settings],
  );

  // The token's own expiry ends the session even when the page makes no request.
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(
      () => signOut(`Your sign-in expired at ${session.expiresAt.toLocaleString()}. Sign in again.`),
      Math.max(0, session.expiresAt.getTime() - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [session, signOut]);

  const request = useCallback(
    async <T,>(query: string, variables?: Record<string, unknown>): Promise<T> => {
      if (!session) throw new ApiError("not signed in", "UNAUTHENTICATED");
      try {
        return await graphqlRequest<T>(settings.graphqlPath, session.token, query, variables);
      } catch (error) {
        if (error instanceof ApiError && error.code === "UNAUTHENTICATED")
          signOut(`herald refused the token: ${error.message}`);
        throw error;
      }
    },
    [session, settings, signOut],
  );

  const value = useMemo(
    () => ({ settings, session, signedOutBecause, signIn, signOut, request }),
    [settings, session, signedOutBecause, signIn, signOut, request],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionContext {
  const context = useContext(Context);
  if (!context) throw new Error("useSession outside SessionProvider");
  return context;
}

/** The signed-in session; the pages that use it render only when there is one. */
export function useSignedIn(): Session & Pick<SessionContext, "request"> {
  const { session, request } = useSession();
  if (!session) throw new Error("useSignedIn without a session");
  return { ...session, request };
}

/** Why a write control is disabled for this role, or undefined when the role may use it. */
export function writeRefusal(role: Role): string | undefined {
  return role === "AUDITOR" ? "Auditors read everything and change nothing (HERALD_AUDITOR_ADDRESSES)." : undefined;
}

function restore(): Session | undefined {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return undefined;
  try {
    const parsed = JSON.parse(stored) as Omit<Session, "expiresAt"> & { expiresAt: string };
    const expiresAt = new Date(parsed.expiresAt);
    return expiresAt.getTime() > Date.now() ? { ...parsed, expiresAt } : undefined;
  } catch {
    return undefined;
  }
}
