/**
 * IP addresses as (family, BigInt) pairs. BigInt keeps IPv4 and IPv6 on one code path and lets
 * pools be described by their bounds instead of enumerated: an IPv6 /64 is two numbers.
 */
import { Address4, Address6 } from 'ip-address';
import { MetallbError } from '../errors.ts';

export type Family = 4 | 6;

export interface IpAddress {
  readonly family: Family;
  readonly value: bigint;
}

export const FAMILY_BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

// Dotted quad with no leading zeros: Go's net.ParseIP (and so MetalLB) rejects "010.0.0.1",
// whose meaning differs between parsers (octal in inet_aton).
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Which family a string claims to be, for error messages about strings that are not addresses. */
export function claimedFamily(text: string): Family {
  return text.includes(':') ? 6 : 4;
}

/** Parses a bare address (no prefix length, no zone). Throws IP_INVALID naming the text. */
export function parseIp(text: string): IpAddress {
  const trimmed = text.trim();
  if (IPV4.test(trimmed)) {
    return { family: 4, value: new Address4(trimmed).bigInt() };
  }
  if (
    trimmed.includes(':') &&
    !trimmed.includes('/') &&
    !trimmed.includes('%') &&
    Address6.isValid(trimmed)
  ) {
    const v6 = new Address6(trimmed);
    // An IPv4-mapped address is still an IPv6 address for pool purposes, as in MetalLB.
    return { family: 6, value: v6.bigInt() };
  }
  throw new MetallbError('IP_INVALID', `invalid IPv${claimedFamily(trimmed)} address ${trimmed}`);
}

/** Canonical text form (RFC 5952 for IPv6); equal addresses always format identically. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Address4.fromBigInt(ip.value).correctForm();
  return Address6.fromBigInt(ip.value).correctForm();
}

/** Canonicalizes an address string, so "2001:DB8::0001" and "2001:db8::1" compare equal. */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text));
}

export function sameIp(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/** The network address of `ip` under a prefix of `length` bits. */
export function maskIp(ip: IpAddress, length: number): IpAddress {
  const hostBits = BigInt(FAMILY_BITS[ip.family] - length);
  return { family: ip.family, value: (ip.value >> hostBits) << hostBits };
}
