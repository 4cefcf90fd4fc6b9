/**
 * LARGE_COMMUNITY (type 32, optional transitive; RFC 8092): three 32-bit parts, for 4-octet ASes
 * that cannot fit in a classic community's 16-bit halves.
 */
import { requireUint, UINT32_MAX } from '../encode-checks.ts';
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

/** RFC 8092 §3; structurally the shared/config large Community without its `kind`. */
export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

export interface LargeCommunitiesAttribute {
  readonly kind: 'largeCommunities';
  readonly communities: readonly LargeCommunity[];
}

const LARGE_COMMUNITY_LENGTH = 12;

export const LARGE_COMMUNITIES: AttributeCodec<LargeCommunitiesAttribute> = {
  code: 32,
  name: 'LARGE_COMMUNITY',
  category: CATEGORY.optionalTransitive,
  // RFC 8092 §6.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    if (value.length === 0 || value.length % LARGE_COMMUNITY_LENGTH !== 0) {
      throw attributeError(
        context,
        LARGE_COMMUNITIES,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not a non-zero multiple of 12`,
      );
    }
    const communities: LargeCommunity[] = [];
    for (let offset = 0; offset < value.length; offset += LARGE_COMMUNITY_LENGTH) {
      communities.push({
        globalAdmin: value.readUInt32BE(offset),
        localData1: value.readUInt32BE(offset + 4),
        localData2: value.readUInt32BE(offset + 8),
      });
    }
    return { kind: 'largeCommunities', communities };
  },
  encode(attribute, _options, path) {
    if (attribute.communities.length === 0) {
      throw encodeError('an empty LARGE_COMMUNITY attribute is malformed: leave it out', path);
    }
    const value = Buffer.alloc(attribute.communities.length * LARGE_COMMUNITY_LENGTH);
    attribute.communities.forEach((community, index) => {
      const offset = index * LARGE_COMMUNITY_LENGTH;
      const here = `${path}.communities[${index}]`;
      requireUint(community.globalAdmin, UINT32_MAX, `${here}.globalAdmin`);
      requireUint(community.localData1, UINT32_MAX, `${here}.localData1`);
      requireUint(community.localData2, UINT32_MAX, `${here}.localData2`);
      value.writeUInt32BE(community.globalAdmin, offset);
      value.writeUInt32BE(community.localData1, offset + 4);
      value.writeUInt32BE(community.localData2, offset + 8);
    });
    return value;
  },
};
