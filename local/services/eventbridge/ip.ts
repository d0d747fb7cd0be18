import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number, with its family (4 or 6) so that v4 and v6 values never compare equal. */
export type IpValue = { family: 4 | 6; value: bigint };

// The shapes EventBridge treats as IP literals; anything else is an ordinary string.
const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

/** Parses an IPv4 or IPv6 literal, or returns undefined. */
export function parseIp(text: string): IpValue | undefined {
  if (IPV4_SHAPE.test(text)) {
    if (!isIPv4(text)) return undefined;
    let value = 0n;
    for (const octet of text.split('.')) value = (value << 8n) | BigInt(Number(octet));
    return { family: 4, value };
  }
  if (IPV6_SHAPE.test(text) || (text.includes(':') && text.includes('.'))) {
    if (!isIPv6(text)) return undefined;
    return { family: 6, value: ipv6ToBigInt(text) };
  }
  return undefined;
}

function ipv6ToBigInt(text: string): bigint {
  let address = text;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4?.[1]) {
    const octets = v4[1].split('.').map(Number);
    const hi = (((octets[0] ?? 0) << 8) | (octets[1] ?? 0)).toString(16);
    const lo = (((octets[2] ?? 0) << 8) | (octets[3] ?? 0)).toString(16);
    address = `${address.slice(0, -v4[1].length)}${hi}:${lo}`;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  return value;
}

/** An inclusive address range, as EventBridge builds it from a CIDR block. */
export type IpRange = { family: 4 | 6; low: bigint; high: bigint };

/**
 * Parses a CIDR block the way EventBridge's rule engine does (aws/event-ruler `CIDR.cidr`): the range runs from
 * the written address to that address with all host bits set (host bits are not cleared), and the mask must be
 * below the address width. Throws an Error whose message is the engine's reason.
 */
export function parseCidr(cidr: string): IpRange {
  const parts = cidr.split('/');
  if (parts.length !== 2) throw new Error("Malformed CIDR, one '/' required");
  const [address = '', maskText = ''] = parts;
  if (!/^[+-]?\d+$/.test(maskText)) throw new Error('Malformed CIDR, mask bits must be an integer');
  const maskBits = Number(maskText);
  if (maskBits < 0) throw new Error('Malformed CIDR, mask bits must not be negative');
  const ip = parseIp(address);
  if (!ip) {
    // The engine resolves anything shaped like an IP literal and rejects the rest as nonstandard.
    const shaped = IPV4_SHAPE.test(address) || IPV6_SHAPE.test(address);
    throw new Error(shaped ? `Invalid IP address: ${address}` : `Nonstandard IP address: ${address}`);
  }
  const width = ip.family === 4 ? 32 : 128;
  if (maskBits > width - 1) throw new Error(`IPv${ip.family} mask bits must be < ${width}`);
  const hostMask = (1n << BigInt(width - maskBits)) - 1n;
  return { family: ip.family, low: ip.value, high: ip.value | hostMask };
}

export function inRange(range: IpRange, ip: IpValue): boolean {
  return ip.family === range.family && ip.value >= range.low && ip.value <= range.high;
}
