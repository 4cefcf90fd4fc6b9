/**
 * ATOMIC_AGGREGATE (type 6, well-known discretionary; RFC 4271 §4.3, §5.1.6): a marker without a
 * value, saying a less specific route was chosen over a more specific one. Peers may send it.
 */
import { UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export interface AtomicAggregateAttribute {
  readonly kind: 'atomicAggregate';
}

export const ATOMIC_AGGREGATE: AttributeCodec<AtomicAggregateAttribute> = {
  code: 6,
  name: 'ATOMIC_AGGREGATE',
  category: CATEGORY.wellKnown,
  // RFC 7606 §7.6: it carries no routing information, so dropping it is enough.
  errorHandling: 'attribute-discard',
  decode(value, context) {
    if (value.length !== 0) {
      throw attributeError(
        context,
        ATOMIC_AGGREGATE,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not 0`,
      );
    }
    return { kind: 'atomicAggregate' };
  },
  encode() {
    return Buffer.alloc(0);
  },
};
