/**
 * NEXT_HOP (type 3, well-known mandatory for IPv4 NLRI; RFC 4271 §4.3, §5.1.3): where the peer should
 * send traffic for the routes, our session address on the shared link. IPv6 routes carry their next
 * hop inside MP_REACH_NLRI instead (RFC 4760 §3).
 */
import type { IpAddress } from '../../../../shared/ip/address.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export interface NextHopAttribute {
  readonly kind: 'nextHop';
  readonly nextHop: IpAddress;
}

const LENGTH = 4;

/**
 * §6.3 requires "a valid IP host address": not 0.0.0.0, not multicast (224/4), not the limited
 * broadcast. Whether it is on a shared subnet is a semantic question for whoever uses the route.
 */
export function invalidNextHopReason(address: number): string | undefined {
  if (address === 0) return 'the unspecified address 0.0.0.0';
  if (address >>> 28 === 0xe) return 'a multicast address';
  if (address === 0xffff_ffff) return 'the broadcast address';
  return undefined;
}

export const NEXT_HOP: AttributeCodec<NextHopAttribute> = {
  code: 3,
  name: 'NEXT_HOP',
  category: CATEGORY.wellKnown,
  // RFC 7606 §7.3.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    if (value.length !== LENGTH) {
      throw attributeError(
        context,
        NEXT_HOP,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not 4`,
      );
    }
    const address = value.readUInt32BE(0);
    const invalid = invalidNextHopReason(address);
    if (invalid !== undefined) {
      throw attributeError(context, NEXT_HOP, UPDATE_SUBCODE.INVALID_NEXT_HOP_ATTRIBUTE, invalid);
    }
    return { kind: 'nextHop', nextHop: { family: 4, value: BigInt(address) } };
  },
  encode(attribute, _options, path) {
    const { nextHop } = attribute;
    if (nextHop.family !== 4 || nextHop.value < 0n || nextHop.value > 0xffff_ffffn) {
      throw encodeError('NEXT_HOP is an IPv4 address: IPv6 next hops go in MP_REACH_NLRI', path);
    }
    const invalid = invalidNextHopReason(Number(nextHop.value));
    if (invalid !== undefined) throw encodeError(`NEXT_HOP is ${invalid}`, path);
    const value = Buffer.alloc(LENGTH);
    value.writeUInt32BE(Number(nextHop.value));
    return value;
  },
};
