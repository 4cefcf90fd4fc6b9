/**
 * MP_UNREACH_NLRI (type 15, optional non-transitive; RFC 4760 §4): withdrawn routes of another
 * address family. How we withdraw IPv6 routes, and, with no prefixes at all, the IPv6 End-of-RIB
 * marker (RFC 4724 §2).
 */
import type { Family } from '../../../../shared/ip/address.ts';
import { afiOf, SAFI, unicastFamily } from '../address-family.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { decodePrefixes, prefixWireLength, writePrefix, type Prefix } from '../prefix.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export interface MpUnreachNlriAttribute {
  readonly kind: 'mpUnreachNlri';
  readonly family: Family;
  readonly withdrawn: readonly Prefix[];
}

/** AFI and SAFI. */
const FIXED_LENGTH = 3;

export const MP_UNREACH_NLRI: AttributeCodec<MpUnreachNlriAttribute> = {
  code: 15,
  name: 'MP_UNREACH_NLRI',
  category: CATEGORY.optionalNonTransitive,
  // RFC 7606 §7.12, as for MP_REACH_NLRI.
  errorHandling: 'session-reset',
  decode(value, context) {
    const fail = (message: string): Error =>
      attributeError(context, MP_UNREACH_NLRI, UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, message);
    if (value.length < FIXED_LENGTH) throw fail(`${value.length} bytes, fewer than 3`);
    const family = unicastFamily(value.readUInt16BE(0), value[2]!);
    if (family === undefined) {
      return { kind: 'unknown', flags: context.flags, code: MP_UNREACH_NLRI.code, value: Buffer.from(value) };
    }
    return {
      kind: 'mpUnreachNlri',
      family,
      withdrawn: decodePrefixes(value.subarray(FIXED_LENGTH), family, fail),
    };
  },
  encode(attribute, _options, path) {
    const { family } = attribute;
    if (family !== 4 && family !== 6) throw encodeError(`unknown family ${String(family)}`, `${path}.family`);
    attribute.withdrawn.forEach((prefix, index) => {
      if (prefix.family !== family) {
        throw encodeError(
          `an IPv${prefix.family} prefix among IPv${family} routes`,
          `${path}.withdrawn[${index}]`,
        );
      }
    });
    const value = Buffer.alloc(
      FIXED_LENGTH + attribute.withdrawn.reduce((sum, p) => sum + prefixWireLength(p), 0),
    );
    value.writeUInt16BE(afiOf(family), 0);
    value[2] = SAFI.UNICAST;
    let offset = FIXED_LENGTH;
    for (const prefix of attribute.withdrawn) offset = writePrefix(prefix, value, offset);
    return value;
  },
};
