import { useEffect, useState } from "react";
import type { Eip1193Provider } from "./wallet-sign-in.js";

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

/** A browser wallet the page may ask to sign in: announced through EIP-6963, or the one at `window.ethereum`. */
export interface DiscoveredWallet {
  /** EIP-6963 `rdns` (reverse DNS of the wallet's maker), or "window.ethereum". */
  readonly id: string;
  readonly name: string;
  readonly provider: Eip1193Provider;
}

interface Eip6963AnnounceEvent extends Event {
  readonly detail: { info: { rdns: string; name: string; uuid: string }; provider: Eip1193Provider };
}

/**
 * Every installed wallet that answers EIP-6963 (several extensions fight over `window.ethereum`;
 * this lets the user choose), else `window.ethereum` alone. Calls `onChange` as wallets announce
 * themselves, which they may do after the page has loaded; the returned function stops listening.
 */
export function watchWallets(target: Window, onChange: (wallets: readonly DiscoveredWallet[]) => void): () => void {
  const announced = new Map<string, DiscoveredWallet>();
  const report = () => {
    const legacy = target.ethereum;
    onChange(
      announced.size > 0 || !legacy
        ? [...announced.values()]
        : [{ id: "window.ethereum", name: "Browser wallet", provider: legacy }],
    );
  };
  const onAnnounce = (event: Event) => {
    const { info, provider } = (event as Eip6963AnnounceEvent).detail ?? {};
    if (!info?.rdns || typeof provider?.request !== "function") return;
    announced.set(info.rdns, { id: info.rdns, name: info.name || info.rdns, provider });
    report();
  };
  target.addEventListener("eip6963:announceProvider", onAnnounce);
  target.dispatchEvent(new Event("eip6963:requestProvider"));
  report();
  return () => target.removeEventListener("eip6963:announceProvider", onAnnounce);
}

/** The wallets of `watchWallets`, as React state. */
export function useWallets(): readonly DiscoveredWallet[] {
  const [wallets, setWallets] = useState<readonly DiscoveredWallet[]>([]);
  useEffect(() => watchWallets(window, setWallets), []);
  return wallets;
}
