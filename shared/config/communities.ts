/**
 * BGP communities as the config writes them: `65535:65282` (RFC 1997, two 16-bit halves),
 * `large:64512:1:2` (RFC 8092, three 32-bit parts, as newer MetalLB accepts), or an alias from the
 * `bgp-communities` table.
 */
import { MetallbError } from '../errors.ts';
import type { Field } from './reader.ts';
import type { Community } from './types.ts';

const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffff_ffff;

// Decimal digits only, leading zeros allowed: MetalLB reads each part with Go's
// strconv.ParseUint(part, 10, bits), which takes "007" but not "+7", "0x7" or " 7".
function part(text: string, max: number, name: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) {
    throw new MetallbError('CONFIG_INVALID', `${name} "${text}" is not a number from 0 to ${max}`);
  }
  return value;
}

/** Parses a community literal. Throws CONFIG_INVALID. */
export function parseCommunity(text: string): Community {
  const parts = text.split(':');
  if (parts[0] === 'large') {
    const [, global = '', local1 = '', local2 = ''] = parts;
    if (parts.length !== 4) {
      throw new MetallbError(
        'CONFIG_INVALID',
        'a large community is written large:<global>:<local1>:<local2>',
      );
    }
    return {
      kind: 'large',
      globalAdmin: part(global, UINT32_MAX, 'global administrator'),
      localData1: part(local1, UINT32_MAX, 'first local data part'),
      localData2: part(local2, UINT32_MAX, 'second local data part'),
    };
  }
  const [high = '', low = ''] = parts;
  if (parts.length !== 2) {
    throw new MetallbError(
      'CONFIG_INVALID',
      'a community is written <asn>:<value> or large:<global>:<local1>:<local2>',
    );
  }
  return {
    kind: 'standard',
    value: part(high, UINT16_MAX, 'first half') * 0x10000 + part(low, UINT16_MAX, 'second half'),
  };
}

/** Canonical text, the inverse of parseCommunity; equal communities format identically. */
export function formatCommunity(community: Community): string {
  if (community.kind === 'large') {
    return `large:${community.globalAdmin}:${community.localData1}:${community.localData2}`;
  }
  return `${Math.floor(community.value / 0x10000)}:${community.value % 0x10000}`;
}

/**
 * The `bgp-communities` table: alias -> community. An alias whose value is bad maps to undefined:
 * it is reported once, here, and uses of it are not reported again as unknown.
 */
export type CommunityAliases = ReadonlyMap<string, Community | undefined>;

export function parseCommunityAliases(table: Field | undefined): CommunityAliases {
  return new Map(table?.entries().map(([alias, field]) => [alias, field.parse(parseCommunity)]));
}

/**
 * Resolves an advertisement's community: an alias first (as MetalLB does), else a literal. A word
 * with no colon cannot be a literal, so it is reported as an unknown alias rather than bad syntax.
 */
export function resolveCommunity(field: Field, aliases: CommunityAliases): Community | undefined {
  return field.parse((text) => {
    if (aliases.has(text)) return aliases.get(text);
    if (!text.includes(':')) {
      throw new MetallbError(
        'CONFIG_REFERENCE',
        'not a community and not an alias defined in bgp-communities',
      );
    }
    return parseCommunity(text);
  });
}
