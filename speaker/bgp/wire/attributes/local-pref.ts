/**
 * LOCAL_PREF (type 5, well-known, iBGP only; RFC 4271 §4.3, §5.1.5): the degree of preference within
 * our own AS. MetalLB's `localpref` advertisement setting; sent on iBGP sessions only.
 */
import { CATEGORY, type AttributeCodec } from './attribute-codec.ts';
import { decodeUint32, encodeUint32 } from './uint32-attribute.ts';

export interface LocalPrefAttribute {
  readonly kind: 'localPref';
  readonly localPref: number;
}

export const LOCAL_PREF: AttributeCodec<LocalPrefAttribute> = {
  code: 5,
  name: 'LOCAL_PREF',
  category: CATEGORY.wellKnown,
  // RFC 7606 §7.5 (an eBGP peer's LOCAL_PREF is discarded instead: the FSM knows which it is).
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    return { kind: 'localPref', localPref: decodeUint32(value, context, LOCAL_PREF) };
  },
  encode(attribute, _options, path) {
    return encodeUint32(attribute.localPref, `${path}.localPref`);
  },
};
