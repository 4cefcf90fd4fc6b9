/**
 * Routes into as few UPDATEs as the 4096-byte limit allows. An UPDATE carries one set of path
 * attributes for any number of prefixes (RFC 4271 §4.3), so routes are grouped by attribute set and
 * each group is cut greedily into messages: about 800 IPv4 /32s or 230 IPv6 /128s per UPDATE, where
 * MetalLB v0.12 sends one UPDATE per prefix and all withdrawals in one unbounded message.
 *
 * IPv4 goes in the NLRI and Withdrawn Routes fields with NEXT_HOP; IPv6 in MP_REACH_NLRI (with its
 * next hop) and MP_UNREACH_NLRI (RFC 4760). Output is deterministic: withdrawals first, IPv4 before
 * IPv6, groups ordered by their lowest prefix, prefixes ascending. The same input always gives the
 * same bytes, whatever the order of the input.
 */
import type { Family, IpAddress } from '../../../shared/ip/address.ts';
import { sequenceSegments, type AsPathSegment } from './attributes/as-path-segments.ts';
import { FLAG } from './attributes/attribute-codec.ts';
import type { LargeCommunity } from './attributes/large-communities.ts';
import type { Origin } from './attributes/origin.ts';
import {
  attributeHeaderLength,
  encodePathAttribute,
  encodePathAttributes,
  type PathAttribute,
} from './attributes/path-attributes.ts';
import { encodeError } from './errors.ts';
import { MAX_MESSAGE_LENGTH } from './header.ts';
import { AS_TRANS } from './open.ts';
import {
  comparePrefixes,
  formatPrefix,
  prefixKey,
  prefixWireLength,
  samePrefix,
  type Prefix,
} from './prefix.ts';
import type { SessionOptions } from './session-options.ts';
import { encodeUpdate, MIN_UPDATE_LENGTH } from './update.ts';

export { endOfRib, endOfRibFamily } from './end-of-rib.ts';

/** The attributes the speaker announces a prefix with, built from its configuration. */
export interface PathAttributes {
  readonly origin: Origin;
  /** Our path as one AS_SEQUENCE: empty on iBGP, [our AS] on eBGP. */
  readonly asPath: readonly number[];
  /** IPv4 for IPv4 prefixes, IPv6 for IPv6 prefixes: the session's local address of that family. */
  readonly nextHop: IpAddress;
  /** IPv6 only: our link-local address, sent after the global next hop (RFC 2545 §3). */
  readonly linkLocalNextHop?: IpAddress;
  /** iBGP only. */
  readonly localPref?: number;
  /** RFC 1997 communities as uint32 (shared/config's standard Community value). */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface Route {
  readonly prefix: Prefix;
  readonly attributes: PathAttributes;
}

/**
 * The path attributes of an UPDATE for `family`, in the order RFC 4271 §5 asks (ascending type
 * code), without the MP_REACH_NLRI that IPv6 adds first. On a session without 4-octet AS numbers an
 * AS above 65535 is sent as AS_TRANS, with the true path in AS4_PATH (RFC 6793 §4.2.2).
 */
export function pathAttributeList(
  family: Family,
  attributes: PathAttributes,
  options: SessionOptions,
): PathAttribute[] {
  const list: PathAttribute[] = [{ kind: 'origin', origin: attributes.origin }];
  const segments = sequenceSegments(attributes.asPath);
  const needsAs4Path = !options.fourOctetAs && attributes.asPath.some((asn) => asn > 0xffff);
  list.push({ kind: 'asPath', segments: needsAs4Path ? withAsTrans(segments) : segments });
  if (family === 4) list.push({ kind: 'nextHop', nextHop: attributes.nextHop });
  if (attributes.localPref !== undefined) list.push({ kind: 'localPref', localPref: attributes.localPref });
  if (attributes.communities.length > 0) {
    list.push({ kind: 'communities', communities: attributes.communities });
  }
  if (needsAs4Path) list.push({ kind: 'as4Path', segments });
  if (attributes.largeCommunities.length > 0) {
    list.push({ kind: 'largeCommunities', communities: attributes.largeCommunities });
  }
  return list;
}

/**
 * Encodes the announcements and withdrawals as UPDATEs of at most 4096 bytes each. A prefix both
 * announced and withdrawn is announced (an announcement replaces the old route, RFC 4271 §3.1); the
 * same prefix announced with two different attribute sets is our bug and refused.
 */
export function packUpdates(
  routes: readonly Route[],
  withdrawals: readonly Prefix[],
  options: SessionOptions,
): Buffer[] {
  const groups = groupRoutes(routes);
  const announced = new Set(routes.map((route) => prefixKey(route.prefix)));
  const withdrawn = uniqueSorted(withdrawals.filter((prefix) => !announced.has(prefixKey(prefix))));
  const messages: Buffer[] = [];
  for (const family of [4, 6] as const) {
    const prefixes = withdrawn.filter((prefix) => prefix.family === family);
    if (prefixes.length > 0) messages.push(...packWithdrawals(family, prefixes, options));
  }
  for (const group of groups) messages.push(...packGroup(group, options));
  return messages;
}

interface Group {
  readonly family: Family;
  readonly attributes: PathAttributes;
  readonly prefixes: Prefix[];
}

function groupRoutes(routes: readonly Route[]): Group[] {
  const byKey = new Map<string, Group>();
  const keyOfPrefix = new Map<string, string>();
  // Routes usually share a handful of attribute objects: key each object once.
  const keyOfAttributes = new Map<PathAttributes, string>();
  routes.forEach((route, index) => {
    const { prefix, attributes } = route;
    let attributesText = keyOfAttributes.get(attributes);
    if (attributesText === undefined) {
      attributesText = attributesKey(attributes);
      keyOfAttributes.set(attributes, attributesText);
    }
    const key = `${prefix.family}${attributesText}`;
    const previous = keyOfPrefix.get(prefixKey(prefix));
    if (previous !== undefined) {
      if (previous === key) return;
      throw encodeError(`${formatPrefix(prefix)} is announced with two attribute sets`, `routes[${index}]`);
    }
    keyOfPrefix.set(prefixKey(prefix), key);
    let group = byKey.get(key);
    if (group === undefined) {
      group = { family: prefix.family, attributes, prefixes: [] };
      byKey.set(key, group);
    }
    group.prefixes.push(prefix);
  });
  const groups = [...byKey.values()];
  for (const group of groups) group.prefixes.sort(comparePrefixes);
  // Groups never share a prefix, so their lowest prefixes differ and order them totally.
  return groups.sort((a, b) => comparePrefixes(a.prefixes[0]!, b.prefixes[0]!));
}

function packGroup(group: Group, options: SessionOptions): Buffer[] {
  const { family, attributes, prefixes } = group;
  const common = pathAttributeList(family, attributes, options);
  const commonLength = encodePathAttributes(common, options).length;
  if (family === 4) {
    return chunk(prefixes, (nlriLength) => MIN_UPDATE_LENGTH + commonLength + nlriLength).map((nlri) =>
      encodeUpdate({ type: 'update', withdrawnRoutes: [], attributes: common, nlri }, options),
    );
  }
  const reach = (nlri: readonly Prefix[]): PathAttribute => ({
    kind: 'mpReachNlri',
    family,
    nextHop: attributes.nextHop,
    ...(attributes.linkLocalNextHop === undefined ? {} : { linkLocalNextHop: attributes.linkLocalNextHop }),
    nlri,
  });
  const reachBase = mpValueLength(reach([]), options);
  return chunk(
    prefixes,
    (nlriLength) => MIN_UPDATE_LENGTH + commonLength + mpAttributeLength(reachBase + nlriLength),
  ).map((nlri) =>
    // RFC 7606 §5.1: MP_REACH_NLRI first, so a receiver finds the routes before anything can go wrong.
    encodeUpdate(
      { type: 'update', withdrawnRoutes: [], attributes: [reach(nlri), ...common], nlri: [] },
      options,
    ),
  );
}

function packWithdrawals(family: Family, prefixes: readonly Prefix[], options: SessionOptions): Buffer[] {
  if (family === 4) {
    return chunk(prefixes, (length) => MIN_UPDATE_LENGTH + length).map((withdrawnRoutes) =>
      encodeUpdate({ type: 'update', withdrawnRoutes, attributes: [], nlri: [] }, options),
    );
  }
  const unreach = (withdrawn: readonly Prefix[]): PathAttribute => ({
    kind: 'mpUnreachNlri',
    family,
    withdrawn,
  });
  const unreachBase = mpValueLength(unreach([]), options);
  return chunk(prefixes, (length) => MIN_UPDATE_LENGTH + mpAttributeLength(unreachBase + length)).map(
    (withdrawn) =>
      encodeUpdate(
        { type: 'update', withdrawnRoutes: [], attributes: [unreach(withdrawn)], nlri: [] },
        options,
      ),
  );
}

/**
 * Cuts sorted prefixes into the longest runs whose message, as `messageLength(prefix bytes)` computes
 * it, stays within 4096 bytes. `messageLength` must grow with its argument.
 */
function chunk(prefixes: readonly Prefix[], messageLength: (prefixBytes: number) => number): Prefix[][] {
  const chunks: Prefix[][] = [];
  let current: Prefix[] = [];
  let bytes = 0;
  for (const prefix of prefixes) {
    const size = prefixWireLength(prefix);
    if (messageLength(bytes + size) > MAX_MESSAGE_LENGTH) {
      if (current.length === 0) {
        throw encodeError(
          `the path attributes leave no room for ${formatPrefix(prefix)} in a ${MAX_MESSAGE_LENGTH}-byte UPDATE`,
        );
      }
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(prefix);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The value length of an encoded MP attribute (header stripped). */
function mpValueLength(attribute: PathAttribute, options: SessionOptions): number {
  const encoded = encodePathAttribute(attribute, options);
  return encoded.length - (encoded[0]! & FLAG.EXTENDED_LENGTH ? 4 : 3);
}

/** A whole attribute's length for a value of `valueLength`: Extended Length past 255 bytes. */
function mpAttributeLength(valueLength: number): number {
  return attributeHeaderLength(valueLength) + valueLength;
}

function withAsTrans(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.map((segment) => ({
    ...segment,
    asns: segment.asns.map((asn) => (asn > 0xffff ? AS_TRANS : asn)),
  }));
}

function uniqueSorted(prefixes: readonly Prefix[]): Prefix[] {
  const sorted = [...prefixes].sort(comparePrefixes);
  return sorted.filter((prefix, index) => index === 0 || !samePrefix(prefix, sorted[index - 1]!));
}

/**
 * A string equal for equal attribute sets, whatever the objects' key order or the order of their
 * communities (a set, RFC 1997). Packing groups routes by it; sessions compare what a peer has with it.
 */
export function attributesKey(attributes: PathAttributes): string {
  const ip = (address: IpAddress | undefined): string | null =>
    address === undefined ? null : `${address.family}:${address.value.toString(16)}`;
  return JSON.stringify([
    attributes.origin,
    attributes.asPath,
    ip(attributes.nextHop),
    ip(attributes.linkLocalNextHop),
    attributes.localPref ?? null,
    [...attributes.communities].sort((a, b) => a - b),
    attributes.largeCommunities.map((c) => [c.globalAdmin, c.localData1, c.localData2]),
  ]);
}
