/**
 * IP prefixes as BGP carries them (RFC 4271 §4.3, reused by RFC 4760 §5 for MP_REACH_NLRI and
 * MP_UNREACH_NLRI): one length octet in bits, then only as many octets of the address as the length
 * covers. A /32 takes 5 bytes, a /24 takes 4, a /0 takes 1.
 */
import { MetallbError } from '../../../shared/errors.ts';
import {
  FAMILY_BITS,
  formatIp,
  maskIp,
  parseIp,
  type Family,
  type IpAddress,
} from '../../../shared/ip/address.ts';
import { encodeError } from './errors.ts';

export interface Prefix {
  readonly family: Family;
  /** The network address: host bits are always zero. */
  readonly address: IpAddress;
  readonly length: number;
}

/** A prefix of `address` masked to `length` bits; throws IP_RANGE_INVALID for a length out of range. */
export function makePrefix(address: IpAddress, length: number): Prefix {
  const bits = FAMILY_BITS[address.family];
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    throw new MetallbError('IP_RANGE_INVALID', `invalid prefix length /${length} for IPv${address.family}`);
  }
  return { family: address.family, address: maskIp(address, length), length };
}

/**
 * Parses `10.0.0.0/24` or `2001:db8::/64`. Host bits are masked off, as Go's net.ParseCIDR and our
 * config parser (shared/ip/range.ts) do, so the same text means the same network everywhere.
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new MetallbError('IP_RANGE_INVALID', `prefix ${text} has no /length`);
  const lengthText = text.slice(slash + 1).trim();
  const length = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
  return makePrefix(parseIp(text.slice(0, slash)), length);
}

/** `10.0.0.0/24`, `2001:db8::/64` (RFC 5952 form): equal prefixes always format identically. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatIp(prefix.address)}/${prefix.length}`;
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.length === b.length && a.address.value === b.address.value;
}

/** Total order: IPv4 before IPv6, then by address, then shorter first. Used for deterministic output. */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.address.value !== b.address.value) return a.address.value < b.address.value ? -1 : 1;
  return a.length - b.length;
}

const keys = new WeakMap<Prefix, string>();

/**
 * A string unique per prefix, for Map keys. Remembered per prefix object: a speaker's routes keep
 * their prefix objects for life and are keyed on every diff and every packing, and BigInt to text
 * is the costly part.
 */
export function prefixKey(prefix: Prefix): string {
  let key = keys.get(prefix);
  if (key === undefined) {
    key = `${prefix.family}/${prefix.address.value.toString(16)}/${prefix.length}`;
    keys.set(prefix, key);
  }
  return key;
}

/** Bytes the prefix takes on the wire: the length octet plus ceil(length / 8) address octets. */
export function prefixWireLength(prefix: Prefix): number {
  return 1 + Math.ceil(prefix.length / 8);
}

/** Writes `prefix` at `offset` and returns the offset after it. Refuses prefixes that are not canonical. */
export function writePrefix(prefix: Prefix, target: Buffer, offset: number): number {
  requireCanonical(prefix);
  const octets = Math.ceil(prefix.length / 8);
  const shift = BigInt(FAMILY_BITS[prefix.family] - octets * 8);
  let value = prefix.address.value >> shift;
  target[offset] = prefix.length;
  for (let i = octets; i >= 1; i--) {
    target[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return offset + 1 + octets;
}

/** The prefixes back to back, as in the Withdrawn Routes and NLRI fields. */
export function encodePrefixes(prefixes: readonly Prefix[]): Buffer {
  const field = Buffer.alloc(prefixes.reduce((sum, prefix) => sum + prefixWireLength(prefix), 0));
  let offset = 0;
  for (const prefix of prefixes) offset = writePrefix(prefix, field, offset);
  return field;
}

/**
 * Reads a whole field of prefixes of one family. `fail` builds the error the caller's context calls
 * for (Invalid Network Field for the UPDATE's own fields, Optional Attribute Error inside
 * MP_REACH_NLRI): a length beyond the family's bits or a prefix running past the field.
 *
 * Trailing bits after the prefix length are masked rather than refused: RFC 4271 §4.3 says "the value
 * of trailing bits is irrelevant", so a sender that leaves garbage there is within the RFC.
 */
export function decodePrefixes(field: Buffer, family: Family, fail: (message: string) => Error): Prefix[] {
  const bits = FAMILY_BITS[family];
  const prefixes: Prefix[] = [];
  let offset = 0;
  while (offset < field.length) {
    const length = field[offset]!;
    if (length > bits) throw fail(`prefix length /${length} is longer than IPv${family}'s ${bits} bits`);
    const octets = Math.ceil(length / 8);
    if (offset + 1 + octets > field.length) {
      throw fail(`a /${length} needs ${octets} address bytes, ${field.length - offset - 1} remain`);
    }
    let value = 0n;
    for (let i = 1; i <= octets; i++) value = (value << 8n) | BigInt(field[offset + i]!);
    value <<= BigInt(bits - octets * 8);
    prefixes.push({ family, address: maskIp({ family, value }, length), length });
    offset += 1 + octets;
  }
  return prefixes;
}

function requireCanonical(prefix: Prefix): void {
  const bits = FAMILY_BITS[prefix.family];
  if (prefix.address.family !== prefix.family) {
    throw encodeError(`prefix family ${prefix.family} with an IPv${prefix.address.family} address`);
  }
  if (!Number.isInteger(prefix.length) || prefix.length < 0 || prefix.length > bits) {
    throw encodeError(`invalid prefix length /${prefix.length} for IPv${prefix.family}`);
  }
  if (prefix.address.value < 0n || prefix.address.value >> BigInt(bits) !== 0n) {
    throw encodeError(`address value ${prefix.address.value} does not fit IPv${prefix.family}`);
  }
  if (maskIp(prefix.address, prefix.length).value !== prefix.address.value) {
    throw encodeError(`${formatIp(prefix.address)}/${prefix.length} has host bits set`);
  }
}
