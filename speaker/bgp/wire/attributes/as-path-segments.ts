/**
 * The segment list shared by AS_PATH (RFC 4271 §4.3) and AS4_PATH (RFC 6793 §3): segment type,
 * number of ASes, then the ASes, each 2 or 4 octets. Segment types 3 and 4 are the confederation
 * segments of RFC 5065 §3, which a peer inside a confederation may legitimately send.
 */
import { requireUint, UINT16_MAX, UINT32_MAX, UINT8_MAX } from '../encode-checks.ts';
import { encodeError } from '../errors.ts';

export type AsPathSegmentType = 'set' | 'sequence' | 'confedSequence' | 'confedSet';

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

const SEGMENT_TYPE_CODES: Readonly<Record<AsPathSegmentType, number>> = {
  set: 1,
  sequence: 2,
  confedSequence: 3,
  confedSet: 4,
};
const SEGMENT_TYPES: Readonly<Record<number, AsPathSegmentType>> = {
  1: 'set',
  2: 'sequence',
  3: 'confedSequence',
  4: 'confedSet',
};
/** The count is one octet. */
export const MAX_SEGMENT_ASNS = UINT8_MAX;

/**
 * Reads segments, returning an error message for the first problem instead of throwing, so each
 * attribute raises its own error. Malformed per RFC 7606 §7.2: an undefined segment type, a zero
 * segment length, a segment overrunning the attribute, trailing bytes; and AS 0 anywhere
 * (RFC 7607 §2).
 */
export function decodeSegments(value: Buffer, asnBytes: 2 | 4): AsPathSegment[] | string {
  const segments: AsPathSegment[] = [];
  let offset = 0;
  while (offset < value.length) {
    if (offset + 2 > value.length) return `a stray byte after segment ${segments.length}`;
    const type = SEGMENT_TYPES[value[offset]!];
    const count = value[offset + 1]!;
    if (type === undefined) return `undefined segment type ${value[offset]}`;
    if (count === 0) return `segment ${segments.length} is empty`;
    const end = offset + 2 + count * asnBytes;
    if (end > value.length) {
      return `segment ${segments.length} of ${count} ASes needs ${end - offset} bytes, ${value.length - offset} remain`;
    }
    const asns: number[] = [];
    for (let at = offset + 2; at < end; at += asnBytes) {
      const asn = asnBytes === 2 ? value.readUInt16BE(at) : value.readUInt32BE(at);
      if (asn === 0) return `AS 0 in segment ${segments.length}`;
      asns.push(asn);
    }
    segments.push({ type, asns });
    offset = end;
  }
  return segments;
}

/** The segments as given: one wire segment each, so what decodes is what was encoded. */
export function encodeSegments(segments: readonly AsPathSegment[], asnBytes: 2 | 4, path: string): Buffer {
  const max = asnBytes === 2 ? UINT16_MAX : UINT32_MAX;
  const size = segments.reduce((sum, segment) => sum + 2 + segment.asns.length * asnBytes, 0);
  const value = Buffer.alloc(size);
  let offset = 0;
  segments.forEach((segment, index) => {
    const here = `${path}.segments[${index}]`;
    const code = SEGMENT_TYPE_CODES[segment.type];
    if (code === undefined) throw encodeError(`unknown segment type ${String(segment.type)}`, here);
    if (segment.asns.length === 0 || segment.asns.length > MAX_SEGMENT_ASNS) {
      throw encodeError(`a segment holds 1 to ${MAX_SEGMENT_ASNS} ASes, got ${segment.asns.length}`, here);
    }
    value[offset] = code;
    value[offset + 1] = segment.asns.length;
    offset += 2;
    segment.asns.forEach((asn, at) => {
      requireUint(asn, max, `${here}.asns[${at}]`);
      if (asn === 0) throw encodeError('AS 0 may not appear in a path (RFC 7607 §2)', `${here}.asns[${at}]`);
      if (asnBytes === 2) value.writeUInt16BE(asn, offset);
      else value.writeUInt32BE(asn, offset);
      offset += asnBytes;
    });
  });
  return value;
}

/** A path of ASes as AS_SEQUENCE segments of at most 255 each (the count is one octet). */
export function sequenceSegments(asns: readonly number[]): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  for (let start = 0; start < asns.length; start += MAX_SEGMENT_ASNS) {
    segments.push({ type: 'sequence', asns: asns.slice(start, start + MAX_SEGMENT_ASNS) });
  }
  return segments;
}
