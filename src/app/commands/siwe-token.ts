import { createSiweToken } from "../../adapters/auth/siwe-token.js";
import { CliUsageError, parseCommandArgs, parseDurationS } from "./cli-command.js";

const HELP = `usage: npx herald siwe-token --private-key 0x… [--ttl 1h] [--domain host:port] [--chain-id 1]

Prints a SIWE (EIP-4361) bearer token for the GraphQL API, signed with the given key:
  curl -H "authorization: Bearer $(npx herald siwe-token --private-key 0x…)" …

options:
  --private-key  0x-prefixed 32-byte hex key (note: visible to other users in the process list)
  --ttl          lifetime: 90s, 30m, 1h, 1d or seconds (default 1h; herald accepts at most HERALD_SIWE_MAX_TTL_S)
  --domain       the SIWE domain herald expects (default HERALD_SIWE_DOMAIN, else localhost:<PORT or 4000>)
  --chain-id     the chain id in the message (default 1)
`;

/** `npx herald siwe-token`: a token for people trying the API by hand. */
export async function runSiweToken(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    "private-key": { type: "string" },
    ttl: { type: "string", default: "1h" },
    domain: { type: "string" },
    "chain-id": { type: "string", default: "1" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const privateKey = values["private-key"];
  if (!privateKey || !/^0x[0-9a-fA-F]{64}$/.test(privateKey))
    throw new CliUsageError("--private-key must be 0x followed by 64 hex digits");
  const chainId = values["chain-id"];
  if (!/^\d{1,18}$/.test(chainId)) throw new CliUsageError("--chain-id must be a whole number");
  const domain = values.domain ?? process.env.HERALD_SIWE_DOMAIN ?? `localhost:${process.env.PORT ?? "4000"}`;
  const { token } = await createSiweToken({
    privateKey,
    domain,
    ttlS: parseTtl(values.ttl),
    chainId: Number(chainId),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

function parseTtl(text: string): number {
  const seconds = parseDurationS("--ttl", text);
  if (seconds <= 0) throw new CliUsageError("--ttl must be positive");
  return seconds;
}
