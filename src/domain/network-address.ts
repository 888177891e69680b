import { isIP } from "node:net";

/**
 * Which addresses a webhook may reach. Private, loopback, link-local (cloud metadata lives at
 * 169.254.169.254), CGNAT, multicast, reserved and their IPv6 equivalents are refused unless the
 * configuration allows private targets.
 */

// [first address as bigint, prefix length] per forbidden IPv4 range.
const FORBIDDEN_V4: readonly (readonly [string, number])[] = [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

// Ranges that embed or translate an IPv4 address without saying it plainly (IPv4-compatible,
// IPv4-translated, local-use NAT64, Teredo) are refused whole: none is a webhook's honest address.
const FORBIDDEN_V6: readonly (readonly [string, number])[] = [
  ["::", 96], // unspecified, loopback, IPv4-compatible (::a.b.c.d, deprecated)
  ["::ffff:0:0:0", 96], // IPv4-translated (SIIT)
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard
  ["2001::", 23], // IETF protocol assignments, Teredo (2001::/32) among them
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
];

function v4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigInt(address: string): bigint {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1]) {
    const v4 = v4ToBigInt(v4Tail[1]);
    text = `${text.slice(0, -v4Tail[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(Number.parseInt(part || "0", 16)), 0n);
}

function inRange(value: bigint, base: bigint, prefix: number, bits: number): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === base >> shift;
}

const NAT64_WELL_KNOWN = v6ToBigInt("64:ff9b::");
const SIX_TO_FOUR = 0x2002n;

/**
 * The IPv4 address an IPv6 address reaches, for the forms that route to one and may be public:
 * IPv4-mapped (::ffff:a.b.c.d), NAT64 well-known prefix (64:ff9b::a.b.c.d, where a NAT64 gateway
 * forwards to the IPv4 host) and 6to4 (2002:aabb:ccdd::). They are judged as that IPv4.
 */
function embeddedV4(value: bigint): bigint | undefined {
  if (value >> 32n === 0xffffn) return value & 0xffffffffn;
  if (value >> 32n === NAT64_WELL_KNOWN >> 32n) return value & 0xffffffffn;
  if (value >> 112n === SIX_TO_FOUR) return (value >> 80n) & 0xffffffffn;
  return undefined;
}

/** True when a webhook must not connect to this literal IP address (v4 or v6). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address.replace(/^\[|\]$/g, "").split("%")[0] ?? "");
  if (family === 4) {
    const value = v4ToBigInt(address);
    return FORBIDDEN_V4.some(([base, prefix]) => inRange(value, v4ToBigInt(base), prefix, 32));
  }
  if (family === 6) {
    const value = v6ToBigInt(address.replace(/^\[|\]$/g, ""));
    const v4 = embeddedV4(value);
    if (v4 !== undefined) return FORBIDDEN_V4.some(([base, prefix]) => inRange(v4, v4ToBigInt(base), prefix, 32));
    return FORBIDDEN_V6.some(([base, prefix]) => inRange(value, v6ToBigInt(base), prefix, 128));
  }
  return false;
}

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const LOCAL_NAMES = /(^|\.)(localhost|localdomain|local|internal|home\.arpa)$/i;

/**
 * The check at creation time: absolute http(s), at most 2,048 characters, no credentials, and no
 * literal private address or local name. Host names are checked again on the address they resolve
 * to, at connect time (src/adapters/http).
 */
export function checkWebhookUrl(raw: string, allowPrivateTargets: boolean): WebhookUrlCheck {
  if (raw.length > 2048) return { ok: false, reason: "url must be at most 2048 characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "url must be an absolute http or https URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "url must use http or https" };
  if (url.username || url.password) return { ok: false, reason: "url must not contain credentials" };
  if (!url.hostname) return { ok: false, reason: "url must name a host" };
  if (allowPrivateTargets) return { ok: true, url };
  // "localhost.." resolves as "localhost": every trailing dot goes before the name is judged.
  const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.+$/, "");
  if (isIP(host) ? isForbiddenAddress(host) : LOCAL_NAMES.test(host) || !host.includes(".")) {
    return { ok: false, reason: "url must not point at a private, loopback or link-local address" };
  }
  return { ok: true, url };
}
