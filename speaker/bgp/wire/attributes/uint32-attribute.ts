/**
 * The shape of MULTI_EXIT_DISC and LOCAL_PREF: a single 4-octet unsigned integer, where any other
 * length is an Attribute Length Error (RFC 4271 §6.3).
 */
import { requireUint, UINT32_MAX } from '../encode-checks.ts';
import { UPDATE_SUBCODE } from '../errors.ts';
import { attributeError, type AttributeCodec, type AttributeContext } from './attribute-codec.ts';

const LENGTH = 4;

export function decodeUint32(
  value: Buffer,
  context: AttributeContext,
  codec: Pick<AttributeCodec<unknown>, 'name' | 'errorHandling'>,
): number {
  if (value.length !== LENGTH) {
    throw attributeError(
      context,
      codec,
      UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR,
      `${value.length} bytes, not 4`,
    );
  }
  return value.readUInt32BE(0);
}

export function encodeUint32(number: number, path: string): Buffer {
  requireUint(number, UINT32_MAX, path);
  const value = Buffer.alloc(LENGTH);
  value.writeUInt32BE(number);
  return value;
}
