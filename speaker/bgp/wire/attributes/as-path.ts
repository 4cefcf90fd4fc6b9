/**
 * AS_PATH (type 2, well-known mandatory; RFC 4271 §4.3, §5.1.2). Empty on iBGP sessions; our own AS
 * alone on eBGP. AS numbers take 4 octets when both sides sent the 4-octet AS capability and 2
 * otherwise (RFC 6793 §4): on a 2-octet session an AS above 65535 must be written AS_TRANS and the
 * real path sent in AS4_PATH (as4-path.ts), which the encoder insists on rather than substituting
 * silently.
 */
import { UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';
import { decodeSegments, encodeSegments, type AsPathSegment } from './as-path-segments.ts';

export interface AsPathAttribute {
  readonly kind: 'asPath';
  readonly segments: readonly AsPathSegment[];
}

export const AS_PATH: AttributeCodec<AsPathAttribute> = {
  code: 2,
  name: 'AS_PATH',
  category: CATEGORY.wellKnown,
  // RFC 7606 §7.2.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    const segments = decodeSegments(value, context.options.fourOctetAs ? 4 : 2);
    if (typeof segments === 'string') {
      // §6.3 gives Malformed AS_PATH no data.
      throw attributeError(context, AS_PATH, UPDATE_SUBCODE.MALFORMED_AS_PATH, segments, Buffer.alloc(0));
    }
    return { kind: 'asPath', segments };
  },
  encode(attribute, options, path) {
    return encodeSegments(attribute.segments, options.fourOctetAs ? 4 : 2, path);
  },
};
