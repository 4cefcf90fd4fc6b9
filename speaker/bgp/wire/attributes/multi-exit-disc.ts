/**
 * MULTI_EXIT_DISC (type 4, optional non-transitive; RFC 4271 §4.3, §5.1.4): a hint to a neighbouring
 * AS about which of several links to prefer. We never send it; peers may, so we must read it.
 */
import { CATEGORY, type AttributeCodec } from './attribute-codec.ts';
import { decodeUint32, encodeUint32 } from './uint32-attribute.ts';

export interface MultiExitDiscAttribute {
  readonly kind: 'multiExitDisc';
  readonly med: number;
}

export const MULTI_EXIT_DISC: AttributeCodec<MultiExitDiscAttribute> = {
  code: 4,
  name: 'MULTI_EXIT_DISC',
  category: CATEGORY.optionalNonTransitive,
  // RFC 7606 §7.4.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    return { kind: 'multiExitDisc', med: decodeUint32(value, context, MULTI_EXIT_DISC) };
  },
  encode(attribute, _options, path) {
    return encodeUint32(attribute.med, `${path}.med`);
  },
};
