import { describe, expect, it } from "vitest";
import { type DiscoveredWallet, watchWallets } from "../../../src/app/web/client/wallet-discovery.js";
import type { Eip1193Provider } from "../../../src/app/web/client/wallet-sign-in.js";

const provider = (name: string): Eip1193Provider => ({ request: async () => name });

/** A page as wallets see it: an event target where EIP-6963 wallets answer requestProvider with announceProvider. */
function page(wallets: { rdns: string; name: string }[], legacy?: Eip1193Provider): Window {
  const target = new EventTarget() as EventTarget & { ethereum?: Eip1193Provider };
  if (legacy) target.ethereum = legacy;
  target.addEventListener("eip6963:requestProvider", () => {
    for (const info of wallets) {
      target.dispatchEvent(
        new CustomEvent("eip6963:announceProvider", {
          detail: { info: { ...info, uuid: info.rdns }, provider: provider(info.name) },
        }),
      );
    }
  });
  return target as unknown as Window;
}

function discovered(target: Window): readonly DiscoveredWallet[] {
  let last: readonly DiscoveredWallet[] = [];
  watchWallets(target, (wallets) => (last = wallets))();
  return last;
}

describe("wallet discovery (EIP-6963, else window.ethereum)", () => {
  it("lists every announced wallet once, by rdns, instead of window.ethereum", () => {
    const target = page(
      [
        { rdns: "io.metamask", name: "MetaMask" },
        { rdns: "com.coinbase.wallet", name: "Coinbase Wallet" },
      ],
      provider("legacy"),
    );
    expect(discovered(target).map(({ id, name }) => [id, name])).toEqual([
      ["io.metamask", "MetaMask"],
      ["com.coinbase.wallet", "Coinbase Wallet"],
    ]);
  });

  it("falls back to window.ethereum when no wallet announces itself, and to none without it", () => {
    expect(discovered(page([], provider("legacy"))).map(({ id, name }) => [id, name])).toEqual([
      ["window.ethereum", "Browser wallet"],
    ]);
    expect(discovered(page([]))).toEqual([]);
  });

  it("takes wallets that announce themselves later, and ignores malformed announcements", () => {
    const target = page([]);
    const seen: (readonly DiscoveredWallet[])[] = [];
    const stop = watchWallets(target, (wallets) => seen.push(wallets));
    target.dispatchEvent(
      new CustomEvent("eip6963:announceProvider", { detail: { info: { name: "no rdns" }, provider: provider("x") } }),
    );
    target.dispatchEvent(
      new CustomEvent("eip6963:announceProvider", {
        detail: { info: { rdns: "app.rabby", name: "Rabby", uuid: "1" }, provider: provider("Rabby") },
      }),
    );
    stop();
    target.dispatchEvent(
      new CustomEvent("eip6963:announceProvider", {
        detail: { info: { rdns: "late", name: "Late", uuid: "2" }, provider: provider("Late") },
      }),
    );
    expect(seen.map((wallets) => wallets.map((wallet) => wallet.id))).toEqual([[], ["app.rabby"]]);
  });
});
