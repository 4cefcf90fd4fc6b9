/**
 * The Path Attributes field of an UPDATE (RFC 4271 §4.3): attributes framed as flags, type code and
 * a 1- or 2-octet length. This file frames and dispatches; each attribute's meaning lives in its own
 * file. Decoding applies RFC 4271 §6.3's checks and classifies each failure the RFC 7606 way, and
 * collects them rather than stopping at the first, so the UPDATE decoder can pick the strongest
 * (RFC 7606 §3) once it knows whether the NLRI could be parsed.
 */
import { encodeError, BgpWireError, ERROR_CODE, UPDATE_SUBCODE, type ErrorHandling } from '../errors.ts';
import type { SessionOptions } from '../session-options.ts';
import { AGGREGATOR, type AggregatorAttribute } from './aggregator.ts';
import { AS4_PATH, type As4PathAttribute } from './as4-path.ts';
import { AS_PATH, type AsPathAttribute } from './as-path.ts';
import { ATOMIC_AGGREGATE, type AtomicAggregateAttribute } from './atomic-aggregate.ts';
import {
  CATEGORY_FLAGS,
  FLAG,
  MEANINGFUL_FLAGS,
  type AttributeCodec,
  type AttributeContext,
} from './attribute-codec.ts';
import { COMMUNITIES, type CommunitiesAttribute } from './communities.ts';
import { LARGE_COMMUNITIES, type LargeCommunitiesAttribute } from './large-communities.ts';
import { LOCAL_PREF, type LocalPrefAttribute } from './local-pref.ts';
import { MP_REACH_NLRI, type MpReachNlriAttribute } from './mp-reach-nlri.ts';
import { MP_UNREACH_NLRI, type MpUnreachNlriAttribute } from './mp-unreach-nlri.ts';
import { MULTI_EXIT_DISC, type MultiExitDiscAttribute } from './multi-exit-disc.ts';
import { NEXT_HOP, type NextHopAttribute } from './next-hop.ts';
import { ORIGIN, type OriginAttribute } from './origin.ts';
import { checkUnknown, type UnknownAttribute } from './unknown.ts';

export type PathAttribute =
  | OriginAttribute
  | AsPathAttribute
  | NextHopAttribute
  | MultiExitDiscAttribute
  | LocalPrefAttribute
  | AtomicAggregateAttribute
  | AggregatorAttribute
  | CommunitiesAttribute
  | MpReachNlriAttribute
  | MpUnreachNlriAttribute
  | As4PathAttribute
  | LargeCommunitiesAttribute
  | UnknownAttribute;

type KnownAttribute = Exclude<PathAttribute, UnknownAttribute>;

/** Every attribute we interpret, in type-code order. */
export const ATTRIBUTE_CODECS = [
  ORIGIN,
  AS_PATH,
  NEXT_HOP,
  MULTI_EXIT_DISC,
  LOCAL_PREF,
  ATOMIC_AGGREGATE,
  AGGREGATOR,
  COMMUNITIES,
  MP_REACH_NLRI,
  MP_UNREACH_NLRI,
  AS4_PATH,
  LARGE_COMMUNITIES,
] as const;

/** Codecs behind one signature: each is only ever called with its own attribute (see codecOf). */
type AnyCodec = AttributeCodec<KnownAttribute>;

const CODECS_BY_CODE: ReadonlyMap<number, AnyCodec> = new Map(
  ATTRIBUTE_CODECS.map((codec) => [codec.code, codec as unknown as AnyCodec]),
);

/** Flags, type code, and a length of one octet, or two with Extended Length. */
const SHORT_HEADER_LENGTH = 3;
const LONG_HEADER_LENGTH = 4;
const MAX_SHORT_LENGTH = 0xff;
const MAX_LONG_LENGTH = 0xffff;

/** Header bytes for a value of this length: Extended Length only past 255 bytes. */
export function attributeHeaderLength(valueLength: number): number {
  return valueLength > MAX_SHORT_LENGTH ? LONG_HEADER_LENGTH : SHORT_HEADER_LENGTH;
}

export interface DecodedAttributes {
  /** The attributes that decoded, in wire order; later duplicates are left out. */
  readonly attributes: PathAttribute[];
  /** Every problem found, in wire order. */
  readonly errors: BgpWireError[];
}

/** The type code of an attribute object. */
export function attributeCode(attribute: PathAttribute): number {
  return attribute.kind === 'unknown' ? attribute.code : codecOf(attribute).code;
}

export function decodePathAttributes(
  field: Buffer,
  options: SessionOptions,
  basePath = 'update.attributes',
): DecodedAttributes {
  const attributes: PathAttribute[] = [];
  const errors: BgpWireError[] = [];
  const seen = new Set<number>();
  let offset = 0;
  for (let index = 0; offset < field.length; index++) {
    const path = `${basePath}[${index}]`;
    const flagsByte = field[offset]!;
    const headerLength = flagsByte & FLAG.EXTENDED_LENGTH ? LONG_HEADER_LENGTH : SHORT_HEADER_LENGTH;
    const rest = field.subarray(offset);
    if (rest.length < headerLength) {
      // RFC 7606 §4: too few bytes left for an attribute header. The Total Path Attribute Length
      // still locates the NLRI, so the routes can be withdrawn rather than the session reset.
      errors.push(
        lengthError(`${rest.length} stray byte(s) where an attribute header should be`, rest, path),
      );
      break;
    }
    const code = field[offset + 1]!;
    const length = headerLength === LONG_HEADER_LENGTH ? field.readUInt16BE(offset + 2) : field[offset + 2]!;
    if (headerLength + length > rest.length) {
      // RFC 7606 §4: the attribute overruns the Total Path Attribute Length.
      errors.push(
        lengthError(
          `attribute ${code} claims ${length} bytes, ${rest.length - headerLength} remain`,
          rest,
          path,
        ),
      );
      break;
    }
    const raw = rest.subarray(0, headerLength + length);
    offset += raw.length;
    const error = decodeOne(raw, raw.subarray(headerLength), code, flagsByte & MEANINGFUL_FLAGS, {
      options,
      path,
      seen,
      attributes,
    });
    if (error !== undefined) errors.push(error);
  }
  return { attributes, errors };
}

/** The attributes in the order given, each framed; refuses two attributes of one type (§5). */
export function encodePathAttributes(
  attributes: readonly PathAttribute[],
  options: SessionOptions,
  basePath = 'update.attributes',
): Buffer {
  const seen = new Set<number>();
  return Buffer.concat(
    attributes.map((attribute, index) => {
      const path = `${basePath}[${index}]`;
      const code = attributeCode(attribute);
      if (seen.has(code)) throw encodeError(`attribute ${code} appears twice`, path);
      seen.add(code);
      return encodePathAttribute(attribute, options, path);
    }),
  );
}

/** One attribute with its flags, type code and length; Extended Length only past 255 bytes. */
export function encodePathAttribute(
  attribute: PathAttribute,
  options: SessionOptions,
  path = 'attribute',
): Buffer {
  let flags: number;
  let code: number;
  let value: Buffer;
  if (attribute.kind === 'unknown') {
    checkUnknown(attribute, path);
    ({ flags, code, value } = attribute);
  } else {
    const codec = codecOf(attribute);
    flags = codec.category;
    code = codec.code;
    value = codec.encode(attribute, options, path);
  }
  if (value.length > MAX_LONG_LENGTH) {
    throw encodeError(`a ${value.length}-byte attribute exceeds ${MAX_LONG_LENGTH}`, path);
  }
  const headerLength = attributeHeaderLength(value.length);
  const bytes = Buffer.alloc(headerLength + value.length);
  bytes[0] = flags | (headerLength === LONG_HEADER_LENGTH ? FLAG.EXTENDED_LENGTH : 0);
  bytes[1] = code;
  if (headerLength === LONG_HEADER_LENGTH) bytes.writeUInt16BE(value.length, 2);
  else bytes[2] = value.length;
  value.copy(bytes, headerLength);
  return bytes;
}

interface DecodeState {
  readonly options: SessionOptions;
  readonly path: string;
  readonly seen: Set<number>;
  readonly attributes: PathAttribute[];
}

function decodeOne(
  raw: Buffer,
  value: Buffer,
  code: number,
  flags: number,
  state: DecodeState,
): BgpWireError | undefined {
  const codec = CODECS_BY_CODE.get(code);
  if (state.seen.has(code)) {
    // RFC 7606 §3: a repeated MP_REACH_NLRI or MP_UNREACH_NLRI resets the session; any other
    // repeated attribute is dropped after the first (RFC 4271 §6.3 called all of them Malformed
    // Attribute List, which is the code the NOTIFICATION carries if one is sent).
    const multiprotocol = code === MP_REACH_NLRI.code || code === MP_UNREACH_NLRI.code;
    return new BgpWireError(
      ERROR_CODE.UPDATE_MESSAGE,
      UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST,
      `attribute ${codec?.name ?? code} appears more than once`,
      { path: state.path, errorHandling: multiprotocol ? 'session-reset' : 'attribute-discard' },
    );
  }
  state.seen.add(code);
  if (codec === undefined) {
    if ((flags & FLAG.OPTIONAL) === 0) {
      // §6.3 Unrecognized Well-known Attribute: we would be required to understand it.
      return new BgpWireError(
        ERROR_CODE.UPDATE_MESSAGE,
        UPDATE_SUBCODE.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        `attribute ${code} is marked well-known but is not one`,
        { data: raw, path: state.path },
      );
    }
    state.attributes.push({ kind: 'unknown', flags, code, value: Buffer.from(value) });
    return undefined;
  }
  if ((flags & CATEGORY_FLAGS) !== codec.category) {
    // §6.3 Attribute Flags Error, the attribute as data. RFC 7606 §3 checks only the Optional and
    // Transitive bits: Partial says something about the path, not about the attribute's format.
    return new BgpWireError(
      ERROR_CODE.UPDATE_MESSAGE,
      UPDATE_SUBCODE.ATTRIBUTE_FLAGS_ERROR,
      `${codec.name}: flags 0x${flags.toString(16)} conflict with its category 0x${codec.category.toString(16)}`,
      { data: raw, path: state.path, errorHandling: atLeast(codec.errorHandling, 'treat-as-withdraw') },
    );
  }
  const context: AttributeContext = { options: state.options, flags, raw, path: state.path };
  try {
    state.attributes.push(codec.decode(value, context));
    return undefined;
  } catch (error) {
    if (error instanceof BgpWireError) return error;
    throw error;
  }
}

function codecOf(attribute: KnownAttribute): AnyCodec {
  const codec = CODECS_BY_KIND[attribute.kind] as unknown as AnyCodec | undefined;
  if (codec === undefined) throw encodeError(`unknown attribute kind ${String(attribute.kind)}`);
  return codec;
}

const CODECS_BY_KIND: {
  readonly [K in KnownAttribute['kind']]: AttributeCodec<Extract<KnownAttribute, { kind: K }>>;
} = {
  origin: ORIGIN,
  asPath: AS_PATH,
  nextHop: NEXT_HOP,
  multiExitDisc: MULTI_EXIT_DISC,
  localPref: LOCAL_PREF,
  atomicAggregate: ATOMIC_AGGREGATE,
  aggregator: AGGREGATOR,
  communities: COMMUNITIES,
  mpReachNlri: MP_REACH_NLRI,
  mpUnreachNlri: MP_UNREACH_NLRI,
  as4Path: AS4_PATH,
  largeCommunities: LARGE_COMMUNITIES,
};

function atLeast(handling: ErrorHandling, floor: ErrorHandling): ErrorHandling {
  const order: readonly ErrorHandling[] = ['attribute-discard', 'treat-as-withdraw', 'session-reset'];
  return order.indexOf(handling) >= order.indexOf(floor) ? handling : floor;
}

/** §6.3 Attribute Length Error with what is left of the attribute as data; RFC 7606 §4 handling. */
function lengthError(message: string, rest: Buffer, path: string): BgpWireError {
  return new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR, message, {
    data: rest,
    path,
    errorHandling: 'treat-as-withdraw',
  });
}
