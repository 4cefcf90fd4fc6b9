/**
 * The `bgp-advertisements` of one bgp pool: how each allocated address is announced (prefix length,
 * LOCAL_PREF, communities).
 */
import { FAMILY_BITS, type Family } from '../ip/address.ts';
import type { IpRange } from '../ip/range.ts';
import { formatCommunity, resolveCommunity, type CommunityAliases } from './communities.ts';
import type { Field, ObjectReader } from './reader.ts';
import type { BgpAdvertisement, Community } from './types.ts';

const ADVERTISEMENT_KEYS = ['aggregation-length', 'aggregation-length-v6', 'localpref', 'communities'];
const UINT32_MAX = 0xffff_ffff;

/** One parsed `addresses[]` entry of a pool, with where it came from for error messages. */
export interface PoolEntry {
  readonly range: IpRange;
  readonly path: string;
  readonly text: string;
}

const DEFAULT_ADVERTISEMENT: BgpAdvertisement = {
  aggregationLength: FAMILY_BITS[4],
  aggregationLengthV6: FAMILY_BITS[6],
  localPref: undefined,
  communities: [],
};

/**
 * The shortest prefix length among the CIDR blocks that exactly make up `range` (a CIDR entry is
 * one block; a dash range is several). That is the length of the widest aligned block that fits
 * inside the range, found by trying block sizes from the largest down, never by enumerating.
 */
export function widestBlockLength(range: IpRange): number {
  const bits = FAMILY_BITS[range.family];
  for (let length = 0; ; length++) {
    const size = 1n << BigInt(bits - length);
    const start = ((range.first + size - 1n) / size) * size;
    if (start + size - 1n <= range.last) return length;
  }
}

/**
 * An aggregation length for one family. MetalLB v0.12 refuses a length shorter than any block of
 * the pool's own entries of that family: for `3.3.3.2-3.3.3.254`, whose widest block is a /26,
 * 26 is the shortest length allowed.
 */
function aggregationLength(
  reader: ObjectReader,
  key: string,
  family: Family,
  entries: readonly PoolEntry[],
): number {
  const bits = FAMILY_BITS[family];
  const field = reader.field(key);
  const length = field?.integer(0, bits);
  if (field === undefined || length === undefined) return bits;
  for (const entry of entries) {
    if (entry.range.family !== family) continue;
    const widest = widestBlockLength(entry.range);
    if (length < widest) {
      field.report(
        'CONFIG_INVALID',
        `${length} is shorter than /${widest}, the widest CIDR block in ${entry.path} "${entry.text}"`,
      );
    }
  }
  return length;
}

function uniqueCommunities(communities: readonly (Community | undefined)[]): Community[] {
  const byText = new Map<string, Community>();
  for (const community of communities) {
    if (community !== undefined && !byText.has(formatCommunity(community))) {
      byText.set(formatCommunity(community), community);
    }
  }
  return [...byText.values()];
}

function describeLocalPref(localPref: number | undefined): string {
  return localPref === undefined ? 'no localpref' : `localpref ${localPref}`;
}

/**
 * Two advertisements of one pool that roll addresses up to the same length announce the same
 * prefix, and one prefix carries one LOCAL_PREF: like newer MetalLB, refuse ones that disagree.
 * Communities may differ: the speaker must announce their union on the shared prefix.
 */
function localPrefConflict(a: BgpAdvertisement, b: BgpAdvertisement, families: ReadonlySet<Family>): string {
  if (a.localPref === b.localPref) return '';
  if (families.has(4) && a.aggregationLength === b.aggregationLength) return `IPv4 /${a.aggregationLength}`;
  if (families.has(6) && a.aggregationLengthV6 === b.aggregationLengthV6) {
    return `IPv6 /${a.aggregationLengthV6}`;
  }
  return '';
}

/** Parses a bgp pool's advertisements; none configured means one default advertisement. */
export function parseAdvertisements(
  fields: readonly Field[],
  entries: readonly PoolEntry[],
  aliases: CommunityAliases,
): BgpAdvertisement[] {
  if (fields.length === 0) return [DEFAULT_ADVERTISEMENT];
  const families = new Set(entries.map((entry) => entry.range.family));
  const parsed: { advertisement: BgpAdvertisement; field: Field; key: string }[] = [];
  for (const field of fields) {
    const problemsBefore = field.problems.errors.length;
    const reader = field.object(ADVERTISEMENT_KEYS);
    if (reader === undefined) continue;
    const advertisement: BgpAdvertisement = {
      aggregationLength: aggregationLength(reader, 'aggregation-length', 4, entries),
      aggregationLengthV6: aggregationLength(reader, 'aggregation-length-v6', 6, entries),
      localPref: reader.field('localpref')?.integer(0, UINT32_MAX),
      communities: uniqueCommunities(reader.list('communities').map((c) => resolveCommunity(c, aliases))),
    };
    // A broken advertisement reads as defaults; comparing it would report phantom duplicates.
    if (field.problems.errors.length > problemsBefore) continue;
    // Compared after defaults and alias resolution, so a spelled-out default or an alias and its
    // literal still count as the same advertisement.
    const key = JSON.stringify([
      advertisement.aggregationLength,
      advertisement.aggregationLengthV6,
      advertisement.localPref ?? null,
      advertisement.communities.map(formatCommunity).sort(),
    ]);
    for (const earlier of parsed) {
      if (earlier.key === key) {
        field.report('CONFIG_DUPLICATE', `same advertisement as ${earlier.field.path}`);
        break;
      }
      const prefixes = localPrefConflict(advertisement, earlier.advertisement, families);
      if (prefixes !== '') {
        field.report(
          'CONFIG_INVALID',
          `${describeLocalPref(advertisement.localPref)} conflicts with ${describeLocalPref(earlier.advertisement.localPref)} ` +
            `of ${earlier.field.path}: both announce the same ${prefixes} prefixes`,
        );
        break;
      }
    }
    parsed.push({ advertisement, field, key });
  }
  return parsed.map(({ advertisement }) => advertisement);
}
