/**
 * Argument checks for the encoders. Buffer's own writers would throw a RangeError (or, for some
 * methods, silently wrap) on an out-of-range field; these name the field instead, as our bug.
 */
import { encodeError } from './errors.ts';

export function requireUint(value: number, max: number, path: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw encodeError(`${value} is not an integer from 0 to ${max}`, path);
  }
}

export const UINT8_MAX = 0xff;
export const UINT16_MAX = 0xffff;
export const UINT32_MAX = 0xffff_ffff;
