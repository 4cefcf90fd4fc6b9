/**
 * Address Family Identifiers (IANA "Address Family Numbers", used by RFC 4760 §3) and Subsequent
 * AFIs. We speak unicast IPv4 and IPv6 only; other pairs are carried as numbers so that a peer's
 * capabilities and ROUTE-REFRESH requests for them can still be decoded and ignored.
 */
import type { Family } from '../../../shared/ip/address.ts';

export const AFI = { IPV4: 1, IPV6: 2 } as const;
export const SAFI = { UNICAST: 1 } as const;

/** The AFI for a family: 1 for IPv4, 2 for IPv6. */
export function afiOf(family: Family): number {
  return family === 4 ? AFI.IPV4 : AFI.IPV6;
}

/** The family of a unicast AFI/SAFI pair, or undefined for a pair we do not speak. */
export function unicastFamily(afi: number, safi: number): Family | undefined {
  if (safi !== SAFI.UNICAST) return undefined;
  if (afi === AFI.IPV4) return 4;
  if (afi === AFI.IPV6) return 6;
  return undefined;
}
