/**
 * Attributes we do not interpret, kept byte for byte with their flags (RFC 4271 §5): optional ones
 * we do not recognize, and multiprotocol attributes of address families we never negotiated. Unknown
 * well-known attributes never get here: they are an error (§6.3 Unrecognized Well-known Attribute).
 */
import { requireUint, UINT8_MAX } from '../encode-checks.ts';
import { encodeError } from '../errors.ts';
import { FLAG, MEANINGFUL_FLAGS } from './attribute-codec.ts';

export interface UnknownAttribute {
  readonly kind: 'unknown';
  /** Optional, Transitive and Partial bits as received; Extended Length is framing, chosen on encode. */
  readonly flags: number;
  readonly code: number;
  readonly value: Buffer;
}

export function checkUnknown(attribute: UnknownAttribute, path: string): void {
  requireUint(attribute.code, UINT8_MAX, `${path}.code`);
  if ((attribute.flags & ~MEANINGFUL_FLAGS) !== 0 || !Number.isInteger(attribute.flags)) {
    throw encodeError(`flags 0x${attribute.flags.toString(16)} carry more than O, T and P`, `${path}.flags`);
  }
  if ((attribute.flags & FLAG.OPTIONAL) === 0) {
    // A well-known attribute must be understood to be sent; the peer would reject it (§6.3).
    throw encodeError(`attribute ${attribute.code} is not optional, so it cannot be unknown`, path);
  }
}

/**
 * What to pass on when re-advertising a route that carried `attribute` (§5): an optional transitive
 * attribute goes on with the Partial bit set, saying some router on the path did not understand it;
 * an optional non-transitive one is dropped. We originate routes only, so this is for completeness
 * (and for anyone building a route server on this layer).
 */
export function forwardUnknown(attribute: UnknownAttribute): UnknownAttribute | undefined {
  if ((attribute.flags & FLAG.TRANSITIVE) === 0) return undefined;
  return { ...attribute, flags: attribute.flags | FLAG.PARTIAL };
}
