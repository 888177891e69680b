import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";

/**
 * A real DNS server on loopback UDP that answers A and AAAA questions from a script, with TTL 0, so
 * a test controls what a host name resolves to from one question to the next (DNS rebinding).
 */
export interface DnsServer {
  /** `host:port`, for `Resolver.setServers`. */
  readonly address: string;
  /** Every question asked, in order: `name/A` or `name/AAAA`. */
  readonly questions: string[];
  /** The answers for a name, one list per question about it; the last list repeats. */
  script(name: string, answers: readonly (readonly string[])[]): void;
  /** Resolves a host through this server, both families, the way the webhook sender's `resolve` option wants. */
  resolve(host: string): Promise<readonly string[]>;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

export async function startDnsServer(): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const scripts = new Map<string, (readonly string[])[]>();
  const asked = new Map<string, number>();
  const questions: string[] = [];

  socket.on("message", (query, peer) => {
    const { name, type, end } = readQuestion(query);
    const family = type === TYPE_A ? 4 : type === TYPE_AAAA ? 6 : 0;
    questions.push(`${name}/${type === TYPE_A ? "A" : type === TYPE_AAAA ? "AAAA" : type}`);
    // One script step per name and question, so an A and an AAAA question of one lookup see the same step.
    const key = `${name}/${type}`;
    const step = asked.get(key) ?? 0;
    asked.set(key, step + 1);
    const script = scripts.get(name.toLowerCase());
    const answers = (script?.[Math.min(step, script.length - 1)] ?? []).filter((address) => isIP(address) === family);
    socket.send(answer(query, end, type, answers, script === undefined), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${socket.address().port}`;
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([address]);
  const none = (error: NodeJS.ErrnoException) => {
    if (error.code === "ENODATA" || error.code === "ENOTFOUND") return [];
    throw error;
  };

  return {
    address,
    questions,
    script: (name, answers) => void scripts.set(name.toLowerCase(), [...answers]),
    async resolve(host) {
      const [v4, v6] = await Promise.all([resolver.resolve4(host).catch(none), resolver.resolve6(host).catch(none)]);
      const all = [...v4, ...v6];
      if (all.length === 0) throw Object.assign(new Error(`${host}: no address`), { code: "ENOTFOUND" });
      return all;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function readQuestion(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString("ascii"));
    offset += 1 + length;
  }
  // The zero label, then QTYPE and QCLASS.
  return { name: labels.join("."), type: query.readUInt16BE(offset + 1), end: offset + 5 };
}

function answer(
  query: Buffer,
  questionEnd: number,
  type: number,
  addresses: readonly string[],
  unknownName: boolean,
): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the id
  header.writeUInt16BE(0x8180 | (unknownName ? 3 : 0), 2); // response, recursion desired+available; NXDOMAIN for names without a script
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((address) => {
    const data = type === TYPE_A ? Buffer.from(address.split(".").map(Number)) : ipv6Bytes(address);
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(type, 2);
    record.writeUInt16BE(1, 4); // class IN
    record.writeUInt32BE(0, 6); // TTL 0: every lookup asks again
    record.writeUInt16BE(data.length, 10);
    return Buffer.concat([record, data]);
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}

function ipv6Bytes(address: string): Buffer {
  let text = address;
  const v4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4Tail) {
    const [a, b, c, d] = v4Tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail = ""] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === "" ? [] : tail.split(":");
  const parts = [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill("0"), ...tailParts];
  const bytes = Buffer.alloc(16);
  for (const [index, part] of parts.entries()) bytes.writeUInt16BE(Number.parseInt(part, 16), index * 2);
  return bytes;
}
