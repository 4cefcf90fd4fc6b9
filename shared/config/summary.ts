/** A human-readable digest of a parsed Config, for `metallb-ts config validate`. */
import { FAMILY_BITS, formatIp } from '../ip/address.ts';
import { coveringPrefixLength, formatRange, rangeSize, type IpRange } from '../ip/range.ts';
import type { AddressPool, Config } from './types.ts';

/** A range that is exactly one CIDR block prints as that CIDR, the way it was most likely written. */
export function formatPoolRange(range: IpRange): string {
  const length = coveringPrefixLength(range);
  if (rangeSize(range) !== 1n << BigInt(FAMILY_BITS[range.family] - length)) return formatRange(range);
  return `${formatIp({ family: range.family, value: range.first })}/${length}`;
}

/** Every address in the pool's ranges, counted from the bounds: an IPv6 /64 is 2^64 exactly. */
export function poolSize(pool: AddressPool): bigint {
  return pool.ranges.reduce((sum, range) => sum + rangeSize(range), 0n);
}

function addresses(count: bigint): string {
  return `${count} ${count === 1n ? 'address' : 'addresses'}`;
}

function describePool(pool: AddressPool): string {
  const flags = [
    ...(pool.autoAssign ? [] : ['auto-assign off']),
    ...(pool.avoidBuggyIps ? ['avoid-buggy-ips'] : []),
  ];
  const ranges = pool.ranges.map(formatPoolRange).join(', ');
  const suffix = flags.length === 0 ? '' : ` (${flags.join(', ')})`;
  return `pool "${pool.name}": ${pool.protocol}, ${addresses(poolSize(pool))}: ${ranges}${suffix}`;
}

/** One line per pool, then the peer and BFD profile counts. */
export function summarizeConfig(config: Config): string[] {
  return [
    ...config.pools.map(describePool),
    `peers: ${config.peers.length}`,
    `bfd-profiles: ${config.bfdProfiles.length}`,
  ];
}
