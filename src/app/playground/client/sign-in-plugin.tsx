import type { GraphiQLPlugin } from "@graphiql/react";
import { useEditorContext } from "@graphiql/react";
import { useEffect, useState, useSyncExternalStore } from "react";
import { type SignedIn, signInWithPastedToken } from "../../web/client/siwe-token.js";
import { useWallets } from "../../web/client/wallet-discovery.js";
import { type Eip1193Provider, signInWithWallet, walletErrorMessage } from "../../web/client/wallet-sign-in.js";
import { hasBearerToken, withBearerToken } from "./authorization-header.js";
import type { PlaygroundSettings } from "./playground-settings.js";
import type { SessionStore } from "./session-store.js";

/** The IDE's side panel for signing in: with the browser wallet, or with a pasted token. */
export function signInPlugin(settings: PlaygroundSettings, sessions: SessionStore): GraphiQLPlugin {
  return {
    title: "Sign in",
    icon: EthereumIcon,
    content: () => <SignInPanel settings={settings} sessions={sessions} />,
  };
}

function SignInPanel({ settings, sessions }: { settings: PlaygroundSettings; sessions: SessionStore }) {
  const session = useSession(sessions);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [pasted, setPasted] = useState("");
  const { headerEditor } = useEditorContext({ nonNull: true });
  const wallets = useWallets();

  /** Resolves to whether signing in worked; the panel shows why not. */
  const attempt = async (signIn: () => Promise<SignedIn> | SignedIn): Promise<boolean> => {
    setBusy(true);
    setProblem(undefined);
    try {
      const signedIn = await signIn();
      // The tab in view first (this throws on headers that are not a JSON object); BearerTokenSync does the others.
      headerEditor?.setValue(withBearerToken(headerEditor.getValue(), signedIn.token));
      sessions.set(signedIn);
      return true;
    } catch (error) {
      setProblem(walletErrorMessage(error));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const signInWithBrowserWallet = (provider: Eip1193Provider) =>
    attempt(() => signInWithWallet({ provider, settings, origin: window.location.origin }));
  const submitPastedToken = async () => {
    if (await attempt(() => signInWithPastedToken(pasted))) setPasted("");
  };

  const pasteForm = (
    <form
      className="herald-paste-token"
      onSubmit={(event) => {
        event.preventDefault();
        void submitPastedToken();
      }}
    >
      <p>
        Get a token on the command line (its key never reaches this page):
        <code>
          npx herald siwe-token --private-key 0x… --domain {settings.siweDomain}
          {settings.siweChainIds ? ` --chain-id ${settings.siweChainIds[0]}` : ""}
        </code>
        and paste it here:
      </p>
      <textarea aria-label="SIWE token" rows={4} value={pasted} onChange={(event) => setPasted(event.target.value)} />
      <button type="submit" className="graphiql-button" disabled={busy || pasted.trim() === ""}>
        Use this token
      </button>
    </form>
  );

  return (
    <div className="herald-sign-in">
      <div className="graphiql-doc-explorer-title">Sign in</div>
      <p>
        The API answers only signed-in callers: a Sign-In with Ethereum (EIP-4361) message for{" "}
        <code>{settings.siweDomain}</code>, signed by your wallet, sent as <code>authorization: Bearer …</code> in the
        request headers.
      </p>
      {window.location.host !== settings.siweDomain && (
        <p>
          This page is at <code>{window.location.host}</code>: your wallet may warn that the message names another site.
          Open the IDE at <code>{settings.siweDomain}</code> to sign in without the warning.
        </p>
      )}
      {session && (
        <p className="herald-signed-in" role="status">
          Signed in as <code>{session.address}</code> until {session.expiresAt.toLocaleString()}. Every tab sends the
          token.
        </p>
      )}
      {wallets.length > 0 ? (
        <>
          {wallets.map((wallet) => (
            <button
              key={wallet.id}
              type="button"
              className="graphiql-button herald-sign-in-button"
              disabled={busy}
              onClick={() => void signInWithBrowserWallet(wallet.provider)}
            >
              {busy
                ? "Waiting for the wallet…"
                : `${session ? "Sign in again" : "Sign in with Ethereum"}${wallets.length > 1 ? ` (${wallet.name})` : ""}`}
            </button>
          ))}
          <details>
            <summary>Paste a token instead</summary>
            {pasteForm}
          </details>
        </>
      ) : (
        <>
          <p>No browser wallet found on this page (a wallet extension such as MetaMask provides one).</p>
          {pasteForm}
        </>
      )}
      {problem && (
        <p className="herald-sign-in-problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

/**
 * Puts the signed-in token into the headers of every tab that comes into view: GraphiQL keeps
 * headers per tab. Rendered inside GraphiQL and always mounted, unlike the panel.
 */
export function BearerTokenSync({ sessions }: { sessions: SessionStore }) {
  const session = useSession(sessions);
  const { headerEditor, activeTabIndex } = useEditorContext({ nonNull: true });
  // biome-ignore lint/correctness/useExhaustiveDependencies: activeTabIndex is the trigger: GraphiQL keeps headers per tab.
  useEffect(() => {
    if (!session || !headerEditor) return;
    const headers = headerEditor.getValue();
    if (hasBearerToken(headers, session.token)) return;
    try {
      headerEditor.setValue(withBearerToken(headers, session.token));
    } catch (error) {
      // Headers that are not a JSON object are the user's to fix; leave them as they are.
      console.warn(`herald: ${(error as Error).message}`);
    }
  }, [session, headerEditor, activeTabIndex]);
  return session ? (
    <span className="herald-signed-in-as" title={`Signed in until ${session.expiresAt.toLocaleString()}`}>
      {session.address.slice(0, 6)}…{session.address.slice(-4)}
    </span>
  ) : null;
}

function useSession(sessions: SessionStore) {
  return useSyncExternalStore(sessions.subscribe, sessions.get);
}

function EthereumIcon() {
  return (
    <svg
      viewBox="0 0 24 24"
      width="24"
      height="24"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.5"
      strokeLinejoin="round"
    >
      <path d="M12 2 5 12.2 12 16l7-3.8L12 2Z" />
      <path d="M5 13.8 12 22l7-8.2L12 17.6 5 13.8Z" />
    </svg>
  );
}
