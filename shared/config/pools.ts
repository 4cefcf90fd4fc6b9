/**
 * `address-pools[]`: named sets of address ranges and how they are announced. Ranges stay as
 * bounds; overlap is checked pairwise on the bounds, so an IPv6 /64 costs as little as a /32.
 */
import { parsePoolAddresses, rangesOverlap } from '../ip/range.ts';
import { parseAdvertisements, type PoolEntry } from './advertisements.ts';
import type { CommunityAliases } from './communities.ts';
import { parseNamed, type Field, type ObjectReader } from './reader.ts';
import type { AddressPool, Protocol } from './types.ts';

const POOL_KEYS = ['name', 'protocol', 'addresses', 'auto-assign', 'avoid-buggy-ips', 'bgp-advertisements'];
const PROTOCOLS: readonly string[] = ['layer2', 'bgp'] satisfies Protocol[];

function isProtocol(text: string): text is Protocol {
  return PROTOCOLS.includes(text);
}

function parseProtocol(reader: ObjectReader): Protocol | undefined {
  const field = reader.required('protocol');
  const text = field?.string();
  if (field === undefined || text === undefined) return undefined;
  if (isProtocol(text)) return text;
  return field.report('CONFIG_INVALID', `unknown protocol "${text}" (expected ${PROTOCOLS.join(' or ')})`);
}

/**
 * Parses one pool's `addresses`. Each entry is checked against `claimed`, every entry accepted so
 * far in this or an earlier pool, and then joins it.
 */
function parseEntries(reader: ObjectReader, claimed: PoolEntry[]): PoolEntry[] {
  const field = reader.required('addresses');
  const items = field?.list() ?? [];
  if (field?.value.kind === 'list' && items.length === 0) {
    field.report('CONFIG_REQUIRED', 'pool has no addresses');
  }
  const entries: PoolEntry[] = [];
  for (const item of items) {
    const range = item.parse(parsePoolAddresses);
    if (range === undefined || item.value.kind !== 'scalar') continue;
    const text = item.value.text;
    const other = claimed.find((entry) => rangesOverlap(entry.range, range));
    if (other !== undefined) {
      item.report('CONFIG_OVERLAP', `"${text}" overlaps ${other.path} "${other.text}"`);
      continue;
    }
    const entry = { range, path: item.path, text };
    entries.push(entry);
    claimed.push(entry);
  }
  return entries;
}

function parsePool(field: Field, claimed: PoolEntry[], aliases: CommunityAliases): AddressPool | undefined {
  const reader = field.object(POOL_KEYS);
  if (reader === undefined) return undefined;
  const name = reader.name();
  const protocol = parseProtocol(reader);
  const entries = parseEntries(reader, claimed);
  const autoAssign = reader.boolean('auto-assign', true);
  const avoidBuggyIps = reader.boolean('avoid-buggy-ips', false);
  const advertisements = reader.list('bgp-advertisements');
  if (protocol === 'layer2' && advertisements.length > 0) {
    // MetalLB allows an empty list here, and so do we: it asks for nothing.
    reader
      .field('bgp-advertisements')
      ?.report('CONFIG_INVALID', 'bgp-advertisements are only allowed in bgp pools');
  }
  const bgpAdvertisements = protocol === 'bgp' ? parseAdvertisements(advertisements, entries, aliases) : [];
  if (name === undefined || protocol === undefined) return undefined;
  return {
    name,
    protocol,
    ranges: entries.map((entry) => entry.range),
    autoAssign,
    avoidBuggyIps,
    bgpAdvertisements,
  };
}

/** Parses `address-pools[]`, reporting every problem to the fields' Problems. */
export function parsePools(fields: readonly Field[], aliases: CommunityAliases): AddressPool[] {
  const claimed: PoolEntry[] = [];
  return parseNamed(fields, (field) => parsePool(field, claimed, aliases), 'pool');
}
