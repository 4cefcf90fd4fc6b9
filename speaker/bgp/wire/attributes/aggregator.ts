/**
 * AGGREGATOR (type 7, optional transitive; RFC 4271 §4.3, §5.1.7): the AS and BGP Identifier of the
 * speaker that formed an aggregate route. Its AS takes 2 or 4 octets like AS_PATH's (RFC 6793 §4).
 */
import type { IpAddress } from '../../../../shared/ip/address.ts';
import { requireUint, UINT16_MAX, UINT32_MAX } from '../encode-checks.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export interface AggregatorAttribute {
  readonly kind: 'aggregator';
  readonly asn: number;
  readonly address: IpAddress;
}

export const AGGREGATOR: AttributeCodec<AggregatorAttribute> = {
  code: 7,
  name: 'AGGREGATOR',
  category: CATEGORY.optionalTransitive,
  // RFC 7606 §7.7.
  errorHandling: 'attribute-discard',
  decode(value, context) {
    const asnBytes = context.options.fourOctetAs ? 4 : 2;
    if (value.length !== asnBytes + 4) {
      throw attributeError(
        context,
        AGGREGATOR,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not ${asnBytes + 4}`,
      );
    }
    const asn = asnBytes === 4 ? value.readUInt32BE(0) : value.readUInt16BE(0);
    if (asn === 0) {
      // RFC 7607 §2: malformed, handled as RFC 7606 says for the attribute.
      throw attributeError(context, AGGREGATOR, UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, 'AS 0');
    }
    return { kind: 'aggregator', asn, address: { family: 4, value: BigInt(value.readUInt32BE(asnBytes)) } };
  },
  encode(attribute, options, path) {
    const asnBytes = options.fourOctetAs ? 4 : 2;
    requireUint(attribute.asn, asnBytes === 4 ? UINT32_MAX : UINT16_MAX, `${path}.asn`);
    if (attribute.asn === 0) throw encodeError('AS 0 (RFC 7607 §2)', `${path}.asn`);
    if (attribute.address.family !== 4)
      throw encodeError('the aggregator address is IPv4', `${path}.address`);
    const value = Buffer.alloc(asnBytes + 4);
    if (asnBytes === 4) value.writeUInt32BE(attribute.asn, 0);
    else value.writeUInt16BE(attribute.asn, 0);
    value.writeUInt32BE(Number(attribute.address.value & 0xffff_ffffn), asnBytes);
    return value;
  },
};
