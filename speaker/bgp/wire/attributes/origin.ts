/**
 * ORIGIN (type 1, well-known mandatory; RFC 4271 §4.3 and §5.1.1): how the route entered BGP. A
 * speaker announcing addresses it owns says IGP, as MetalLB does.
 */
import { encodeError, UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, CATEGORY, type AttributeCodec } from './attribute-codec.ts';

export type Origin = 'igp' | 'egp' | 'incomplete';
const ORIGIN_VALUES: readonly Origin[] = ['igp', 'egp', 'incomplete'];

export interface OriginAttribute {
  readonly kind: 'origin';
  readonly origin: Origin;
}

export const ORIGIN: AttributeCodec<OriginAttribute> = {
  code: 1,
  name: 'ORIGIN',
  category: CATEGORY.wellKnown,
  // RFC 7606 §7.1.
  errorHandling: 'treat-as-withdraw',
  decode(value, context) {
    if (value.length !== 1) {
      throw attributeError(
        context,
        ORIGIN,
        UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
        `${value.length} bytes, not 1`,
      );
    }
    const origin = ORIGIN_VALUES[value[0]!];
    if (origin === undefined) {
      // §6.3 Invalid ORIGIN Attribute, with the attribute as data.
      throw attributeError(
        context,
        ORIGIN,
        UPDATE_SUBCODE.INVALID_ORIGIN_ATTRIBUTE,
        `undefined value ${value[0]}`,
      );
    }
    return { kind: 'origin', origin };
  },
  encode(attribute, _options, path) {
    const value = ORIGIN_VALUES.indexOf(attribute.origin);
    if (value < 0) throw encodeError(`unknown origin ${String(attribute.origin)}`, path);
    return Buffer.from([value]);
  },
};
