import { createTenantToken, type TenantTokenScope } from "../../adapters/auth/tenant-token.js";
import { loadConfig } from "../config.js";
import { CliUsageError, parseCommandArgs, parseDurationS } from "./cli-command.js";

const HELP = `usage: npx herald tenant-token --wallet <wallet_id> [--group <group_id>] [--ttl <duration>]
       npx herald tenant-token --admin --group <group_id> [--ttl <duration>]

Prints an x-api-key value for Waypoint SSE (GET /v1/sse/...):
  tenant.<jwt>        may wait on one wallet's events (--wallet)
  tenant-admin.<jwt>  may wait on the events of one group's wallets (--admin --group)

options:
  --wallet <id>     the wallet_id claim
  --group <id>      the group_id claim (required with --admin)
  --admin           a tenant-admin key
  --ttl <duration>  lifetime: seconds, or a number with s, m, h or d (default 1d; 0: never expires)
  --help            this text

Signed with HERALD_TENANT_JWT_SECRET, or in embedded mode the secret kept in HERALD_DATA_DIR.
acapy-cloud's static tenant-admin key needs no command: tenant-admin.<HERALD_TENANT_ADMIN_API_KEY>
waits on every wallet.
`;

const DEFAULT_TTL_S = 86_400;

export async function runTenantToken(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    wallet: { type: "string" },
    group: { type: "string" },
    admin: { type: "boolean", default: false },
    ttl: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const scope = scopeFrom(values);
  const ttlS = parseTtl(values.ttl);
  process.stdout.write(`${createTenantToken(tenantSecret(), scope, ttlS === 0 ? {} : { ttlS })}\n`);
  return 0;
}

function scopeFrom(values: { wallet?: string; group?: string; admin?: boolean }): TenantTokenScope {
  if (values.admin) {
    if (!values.group) throw new CliUsageError("--admin needs --group <group_id>");
    if (values.wallet) throw new CliUsageError("--admin keys are for a group: drop --wallet");
    return { kind: "tenant-admin", groupId: values.group };
  }
  if (!values.wallet) throw new CliUsageError("give --wallet <wallet_id>, or --admin --group <group_id>");
  return { kind: "tenant", walletId: values.wallet, ...(values.group ? { groupId: values.group } : {}) };
}

function parseTtl(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TTL_S;
  return parseDurationS("--ttl", text);
}

/**
 * The variable alone when it is set, so that a server's other settings (which loadConfig would
 * also check) are not needed to print a key; else the configuration's, which in embedded mode is
 * the secret kept in the data directory.
 */
function tenantSecret(): string {
  const fromEnv = process.env.HERALD_TENANT_JWT_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const secret = loadConfig().tenantJwtSecret;
  if (!secret) throw new Error("HERALD_TENANT_JWT_SECRET is not set");
  return secret;
}
