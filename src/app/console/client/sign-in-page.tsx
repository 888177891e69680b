import { useState } from "react";
import { type SignedIn, signInWithPastedToken } from "../../web/client/siwe-token.js";
import { useWallets } from "../../web/client/wallet-discovery.js";
import { signInWithWallet, walletErrorMessage } from "../../web/client/wallet-sign-in.js";
import { useSession } from "./console-session.js";

/** Sign in with a browser wallet (EIP-1193, several told apart by EIP-6963), or with a pasted token. */
export function SignInPage() {
  const { settings, signIn, signedOutBecause } = useSession();
  const wallets = useWallets();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [pasted, setPasted] = useState("");

  const attempt = async (obtain: () => Promise<SignedIn> | SignedIn) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await signIn(await obtain());
    } catch (error) {
      setProblem(walletErrorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <h1>Sign in to the herald console</h1>
      {signedOutBecause && (
        <p className="notice" role="alert">
          {signedOutBecause}
        </p>
      )}
      <p>
        The console reads and acts through herald's GraphQL API with your own Sign-In with Ethereum token for{" "}
        <code>{settings.siweDomain}</code>: you see what your role lets you see.
      </p>
      <section aria-labelledby="wallet-heading">
        <h2 id="wallet-heading">With a browser wallet</h2>
        {wallets.length === 0 && (
          <p>No browser wallet found on this page (a wallet extension such as MetaMask provides one).</p>
        )}
        {wallets.map((wallet) => (
          <button
            key={wallet.id}
            type="button"
            className="primary"
            disabled={busy}
            onClick={() =>
              void attempt(() =>
                signInWithWallet({ provider: wallet.provider, settings, origin: window.location.origin }),
              )
            }
          >
            {wallets.length > 1 ? `Sign in with ${wallet.name}` : "Sign in with Ethereum"}
          </button>
        ))}
      </section>
      <section aria-labelledby="token-heading">
        <h2 id="token-heading">With a token</h2>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void attempt(() => signInWithPastedToken(pasted));
          }}
        >
          <p>
            For auditors without a wallet:{" "}
            <code>npx herald siwe-token --private-key 0x… --domain {settings.siweDomain}</code> prints one.
          </p>
          <label htmlFor="siwe-token">SIWE token</label>
          <textarea
            id="siwe-token"
            rows={4}
            value={pasted}
            onChange={(event) => setPasted(event.target.value)}
            spellCheck={false}
          />
          <button type="submit" disabled={busy || pasted.trim() === ""}>
            Use this token
          </button>
        </form>
      </section>
      {busy && <p role="status">Signing in…</p>}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </main>
  );
}
