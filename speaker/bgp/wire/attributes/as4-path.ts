/**
 * AS4_PATH (type 17, optional transitive; RFC 6793 §3): the real 4-octet path, sent beside an
 * AS_PATH that had to say AS_TRANS because the peer reads only 2-octet AS numbers. Only ever sent on
 * such sessions (§4.2.2); a malformed one is discarded, not a reason to drop routes (RFC 6793 §6).
 */
import { UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';
import { decodeSegments, encodeSegments, type AsPathSegment } from './as-path-segments.ts';

export interface As4PathAttribute {
  readonly kind: 'as4Path';
  readonly segments: readonly AsPathSegment[];
}

export const AS4_PATH: AttributeCodec<As4PathAttribute> = {
  code: 17,
  name: 'AS4_PATH',
  category: CATEGORY.optionalTransitive,
  errorHandling: 'attribute-discard',
  decode(value, context) {
    const segments = decodeSegments(value, 4);
    if (typeof segments === 'string') {
      throw attributeError(context, AS4_PATH, UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, segments);
    }
    return { kind: 'as4Path', segments };
  },
  encode(attribute, _options, path) {
    return encodeSegments(attribute.segments, 4, path);
  },
};
