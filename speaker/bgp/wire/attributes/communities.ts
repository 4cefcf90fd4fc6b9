/**
 * COMMUNITIES (type 8, optional transitive; RFC 1997): 32-bit tags, conventionally written as two
 * 16-bit halves `asn:value`, that tell the peer what to do with the routes (MetalLB's `communities`).
 */
import { requireUint, UINT32_MAX } from '../encode-checks.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export interface CommunitiesAttribute {
  readonly kind: 'communities';
  /** Each community as one uint32: `65535:65281` is 0xffffff01 (the shared/config encoding). */
  readonly communities: readonly number[];
}

const COMMUNITY_LENGTH = 4;

export const COMMUNITIES: AttributeCodec<CommunitiesAttribute> = {
  code: 8,
  name: 'COMMUNITIES',
  category: CATEGORY.optionalTransitive,
  // RFC 7606 §7.8.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    // RFC 7606 §7.8: malformed unless a non-zero multiple of 4.
    if (value.length === 0 || value.length % COMMUNITY_LENGTH !== 0) {
      throw attributeError(
        context,
        COMMUNITIES,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not a non-zero multiple of 4`,
      );
    }
    const communities: number[] = [];
    for (let offset = 0; offset < value.length; offset += COMMUNITY_LENGTH) {
      communities.push(value.readUInt32BE(offset));
    }
    return { kind: 'communities', communities };
  },
  encode(attribute, _options, path) {
    if (attribute.communities.length === 0) {
      throw encodeError('an empty COMMUNITIES attribute is malformed: leave it out', path);
    }
    const value = Buffer.alloc(attribute.communities.length * COMMUNITY_LENGTH);
    attribute.communities.forEach((community, index) => {
      requireUint(community, UINT32_MAX, `${path}.communities[${index}]`);
      value.writeUInt32BE(community, index * COMMUNITY_LENGTH);
    });
    return value;
  },
};
