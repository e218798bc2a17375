// Which addresses a URL preview may connect to. Previews make the server fetch
// URLs that users choose, so without this a user could reach services on the
// server's own machine or network (SSRF). Private, loopback, link-local,
// shared, documentation, multicast and reserved ranges are refused
// (the IANA special-purpose address registries), IPv4-mapped IPv6 by its IPv4.
import { isIP } from "node:net";

const V4_BLOCKED: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

const V6_BLOCKED: [string, number][] = [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
];

function v4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function v6ToBigInt(address: string): bigint {
  let text = address.toLowerCase().split("%")[0]!;
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToNumber(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill("0"), ...tailGroups];
  return groups.reduce((n, group) => (n << 16n) + BigInt(parseInt(group || "0", 16)), 0n);
}

const inV4 = (address: number, [base, bits]: [string, number]) => bits === 0 || address >>> (32 - bits) === v4ToNumber(base) >>> (32 - bits);
const inV6 = (address: bigint, [base, bits]: [string, number]) => address >> BigInt(128 - bits) === v6ToBigInt(base) >> BigInt(128 - bits);

/** True for an address a preview must not connect to (and for anything that is not an IP address). */
export function isBlockedAddress(address: string): boolean {
  const version = isIP(address.split("%")[0]!);
  if (version === 4) {
    const n = v4ToNumber(address);
    return n === 0xffffffff || V4_BLOCKED.some((range) => inV4(n, range));
  }
  if (version === 6) {
    const n = v6ToBigInt(address);
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses: judge the IPv4 address.
    if (n >> 32n === 0xffffn || (n >> 32n === 0n && n > 1n)) {
      const v4 = Number(n & 0xffffffffn);
      return isBlockedAddress([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join("."));
    }
    return V6_BLOCKED.some((range) => inV6(n, range));
  }
  return true;
}
