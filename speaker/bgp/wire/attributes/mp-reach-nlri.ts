/**
 * MP_REACH_NLRI (type 14, optional non-transitive; RFC 4760 §3): routes of another address family
 * with their next hop. How we announce IPv6: AFI 2, SAFI 1, a 16-byte global next hop, or 32 bytes
 * with the link-local address after it (RFC 2545 §3), then the prefixes.
 */
import type { Family, IpAddress } from '../../../../shared/ip/address.ts';
import { readIpv4, readIpv6, writeIp } from '../../../layer2/ip-bytes.ts';
import { afiOf, SAFI, unicastFamily } from '../address-family.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { decodePrefixes, prefixWireLength, writePrefix, type Prefix } from '../prefix.ts';
import { attributeError, CATEGORY, type AttributeCodec, type AttributeContext } from './attribute-codec.ts';

export interface MpReachNlriAttribute {
  readonly kind: 'mpReachNlri';
  /** AFI 1 or 2 with SAFI 1: the only pairs we negotiate. Others decode as UnknownAttribute. */
  readonly family: Family;
  /** IPv6 for IPv6 routes; IPv4, or IPv6 as in RFC 8950, for IPv4 routes. */
  readonly nextHop: IpAddress;
  /** The second, link-local IPv6 next hop of the 32-byte form (RFC 2545 §3); absent otherwise. */
  readonly linkLocalNextHop?: IpAddress;
  readonly nlri: readonly Prefix[];
}

/** AFI, SAFI and Length of Next Hop Network Address; then the next hop; then one Reserved octet. */
const FIXED_LENGTH = 5;
const NEXT_HOP_IPV4 = 4;
const NEXT_HOP_IPV6 = 16;
const NEXT_HOP_IPV6_WITH_LINK_LOCAL = 32;

export const MP_REACH_NLRI: AttributeCodec<MpReachNlriAttribute> = {
  code: 14,
  name: 'MP_REACH_NLRI',
  category: CATEGORY.optionalNonTransitive,
  // RFC 7606 §7.11: the NLRI cannot be found past a bad next hop, so nothing gentler is possible.
  errorHandling: 'session-reset',
  decode(value, context) {
    if (value.length < FIXED_LENGTH) throw malformed(context, `${value.length} bytes, fewer than 5`);
    const afi = value.readUInt16BE(0);
    const safi = value[2]!;
    const family = unicastFamily(afi, safi);
    if (family === undefined) {
      // A family we never advertised: keep it verbatim, as an unrecognized optional attribute.
      return { kind: 'unknown', flags: context.flags, code: MP_REACH_NLRI.code, value: Buffer.from(value) };
    }
    const nextHopLength = value[3]!;
    const nlriStart = 4 + nextHopLength + 1;
    if (nlriStart > value.length) {
      throw malformed(
        context,
        `a ${nextHopLength}-byte next hop overruns the ${value.length}-byte attribute`,
      );
    }
    const nextHops = readNextHops(value.subarray(4, 4 + nextHopLength), family);
    if (nextHops === undefined) {
      throw malformed(context, `a ${nextHopLength}-byte next hop is not valid for IPv${family}`);
    }
    // The octet after the next hop is Reserved (formerly the SNPA count): ignored on receipt (§3).
    const nlri = decodePrefixes(value.subarray(nlriStart), family, (message) => malformed(context, message));
    return {
      kind: 'mpReachNlri',
      family,
      nextHop: nextHops[0],
      ...(nextHops[1] === undefined ? {} : { linkLocalNextHop: nextHops[1] }),
      nlri,
    };
  },
  encode(attribute, _options, path) {
    const { family, nextHop, linkLocalNextHop } = attribute;
    if (family !== 4 && family !== 6) throw encodeError(`unknown family ${String(family)}`, `${path}.family`);
    if (family === 6 && nextHop.family !== 6) {
      throw encodeError('IPv6 routes need an IPv6 next hop', `${path}.nextHop`);
    }
    if (linkLocalNextHop !== undefined && (linkLocalNextHop.family !== 6 || nextHop.family !== 6)) {
      throw encodeError('a link-local next hop pairs an IPv6 global next hop', `${path}.linkLocalNextHop`);
    }
    const nextHopLength =
      nextHop.family === 4
        ? NEXT_HOP_IPV4
        : linkLocalNextHop === undefined
          ? NEXT_HOP_IPV6
          : NEXT_HOP_IPV6_WITH_LINK_LOCAL;
    attribute.nlri.forEach((prefix, index) => {
      if (prefix.family !== family) {
        throw encodeError(
          `an IPv${prefix.family} prefix among IPv${family} routes`,
          `${path}.nlri[${index}]`,
        );
      }
    });
    const nlriLength = attribute.nlri.reduce((sum, prefix) => sum + prefixWireLength(prefix), 0);
    const value = Buffer.alloc(FIXED_LENGTH + nextHopLength + nlriLength);
    value.writeUInt16BE(afiOf(family), 0);
    value[2] = SAFI.UNICAST;
    value[3] = nextHopLength;
    writeIp(nextHop, value, 4);
    if (linkLocalNextHop !== undefined) writeIp(linkLocalNextHop, value, 4 + NEXT_HOP_IPV6);
    let offset = 4 + nextHopLength + 1;
    for (const prefix of attribute.nlri) offset = writePrefix(prefix, value, offset);
    return value;
  },
};

function readNextHops(bytes: Buffer, family: Family): [IpAddress] | [IpAddress, IpAddress] | undefined {
  if (bytes.length === NEXT_HOP_IPV4 && family === 4) return [readIpv4(bytes, 0)];
  if (bytes.length === NEXT_HOP_IPV6) return [readIpv6(bytes, 0)];
  if (bytes.length === NEXT_HOP_IPV6_WITH_LINK_LOCAL) return [readIpv6(bytes, 0), readIpv6(bytes, 16)];
  return undefined;
}

/** RFC 4760 §7: Optional Attribute Error, with the attribute as data. */
function malformed(context: AttributeContext, message: string): Error {
  return attributeError(context, MP_REACH_NLRI, UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, message);
}
