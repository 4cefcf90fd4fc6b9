/**
 * Address ranges, the unit of every pool. Both MetalLB spellings, a CIDR (`192.168.1.0/28`) and a
 * range (`192.168.1.251-192.168.1.253`), become an inclusive [first, last] pair of one family.
 */
import { MetallbError } from '../errors.ts';
import {
  FAMILY_BITS,
  claimedFamily,
  formatIp,
  maskIp,
  parseIp,
  type Family,
  type IpAddress,
} from './address.ts';

export interface IpRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

/** `a.b.c.d/n` or `x::/n`. Host bits are masked off, as Go's net.ParseCIDR (and MetalLB) do. */
export function parseCidr(text: string): IpRange {
  const slash = text.indexOf('/');
  const addressText = text.slice(0, slash).trim();
  const lengthText = text.slice(slash + 1).trim();
  const address = parseIp(addressText);
  const bits = FAMILY_BITS[address.family];
  const length = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!(length >= 0 && length <= bits)) {
    throw new MetallbError(
      'IP_RANGE_INVALID',
      `invalid prefix length /${lengthText} for IPv${address.family}`,
    );
  }
  const network = maskIp(address, length);
  const hostBits = BigInt(bits - length);
  return { family: address.family, first: network.value, last: network.value + (1n << hostBits) - 1n };
}

/** `start-end`, both ends inclusive and of one family. */
export function parseDashRange(text: string): IpRange {
  const dash = text.indexOf('-');
  const start = parseIp(text.slice(0, dash));
  const end = parseIp(text.slice(dash + 1));
  if (start.family !== end.family) {
    throw new MetallbError('IP_RANGE_INVALID', 'range mixes IPv4 and IPv6');
  }
  if (start.value > end.value) {
    throw new MetallbError(
      'IP_RANGE_INVALID',
      `range start ${formatIp(start)} is after end ${formatIp(end)}`,
    );
  }
  return { family: start.family, first: start.value, last: end.value };
}

/** A pool `addresses[]` entry. A bare address is refused, as in MetalLB: write it as /32 or /128. */
export function parsePoolAddresses(text: string): IpRange {
  if (text.includes('/')) return parseCidr(text);
  if (text.includes('-')) return parseDashRange(text);
  throw new MetallbError(
    'IP_RANGE_INVALID',
    `not a CIDR or a range (write a single IPv${claimedFamily(text)} address as a /${FAMILY_BITS[claimedFamily(text)]})`,
  );
}

export function rangeSize(range: IpRange): bigint {
  return range.last - range.first + 1n;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  return range.family === ip.family && range.first <= ip.value && ip.value <= range.last;
}

/** The length of the longest prefix that covers the whole range (used to bound aggregation). */
export function coveringPrefixLength(range: IpRange): number {
  const bits = FAMILY_BITS[range.family];
  let length = bits;
  while (length > 0 && range.first >> BigInt(bits - length) !== range.last >> BigInt(bits - length)) {
    length--;
  }
  return length;
}

export function formatRange(range: IpRange): string {
  const first = formatIp({ family: range.family, value: range.first });
  const last = formatIp({ family: range.family, value: range.last });
  return first === last ? first : `${first}-${last}`;
}
