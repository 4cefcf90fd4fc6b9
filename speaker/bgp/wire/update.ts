/**
 * UPDATE (RFC 4271 §4.3): IPv4 prefixes withdrawn, path attributes, and IPv4 prefixes announced with
 * those attributes. IPv6 rides inside the MP_REACH_NLRI and MP_UNREACH_NLRI attributes (RFC 4760).
 *
 * Errors follow RFC 4271 §6.3 for their code, subcode and data, and RFC 7606 for how bad they are:
 * anything that leaves the message's routes unlocatable (lengths that overrun the message, a
 * malformed prefix field, a broken MP_REACH_NLRI) resets the session; a malformed attribute whose
 * boundaries are intact only spoils the routes of this UPDATE (treat-as-withdraw) or itself
 * (attribute-discard). The error thrown is the strongest found, see BgpWireError.errorHandling.
 */
import {
  attributeCode,
  decodePathAttributes,
  encodePathAttributes,
  type PathAttribute,
} from './attributes/path-attributes.ts';
import { AS_PATH } from './attributes/as-path.ts';
import { NEXT_HOP } from './attributes/next-hop.ts';
import { ORIGIN } from './attributes/origin.ts';
import { BgpWireError, encodeError, ERROR_CODE, strongestError, UPDATE_SUBCODE } from './errors.ts';
import { allocMessage, badLength, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MESSAGE_TYPE } from './header.ts';
import { messageBody } from './message-body.ts';
import { decodePrefixes, encodePrefixes, type Prefix } from './prefix.ts';
import type { SessionOptions } from './session-options.ts';

export interface Update {
  readonly type: 'update';
  /** IPv4 only: other families withdraw through MP_UNREACH_NLRI. */
  readonly withdrawnRoutes: readonly Prefix[];
  /** In wire order; at most one of each type. */
  readonly attributes: readonly PathAttribute[];
  /** IPv4 only: other families announce through MP_REACH_NLRI. */
  readonly nlri: readonly Prefix[];
}

/** Withdrawn Routes Length and Total Path Attribute Length. */
const LENGTH_FIELDS = 4;
/** The smallest UPDATE: header and two zero lengths (RFC 4271 §4.3). */
export const MIN_UPDATE_LENGTH = HEADER_LENGTH + LENGTH_FIELDS;

export function decodeUpdate(message: Buffer, options: SessionOptions): Update {
  const body = messageBody(message, 'UPDATE');
  if (body.length < LENGTH_FIELDS) {
    throw badLength(
      message.length,
      `an UPDATE is at least ${MIN_UPDATE_LENGTH} bytes, got ${message.length}`,
    );
  }
  const withdrawnLength = body.readUInt16BE(0);
  if (2 + withdrawnLength + 2 > body.length) {
    throw malformedList(
      `Withdrawn Routes Length ${withdrawnLength} overruns the ${message.length}-byte message`,
    );
  }
  const attributesLength = body.readUInt16BE(2 + withdrawnLength);
  const attributesStart = LENGTH_FIELDS + withdrawnLength;
  if (attributesStart + attributesLength > body.length) {
    throw malformedList(
      `Total Path Attribute Length ${attributesLength} overruns the ${message.length}-byte message`,
    );
  }
  const withdrawnRoutes = decodePrefixes(body.subarray(2, 2 + withdrawnLength), 4, (text) =>
    invalidNetwork(`withdrawn routes: ${text}`, 'update.withdrawnRoutes'),
  );
  const { attributes, errors } = decodePathAttributes(
    body.subarray(attributesStart, attributesStart + attributesLength),
    options,
  );
  const nlri = decodePrefixes(body.subarray(attributesStart + attributesLength), 4, (text) =>
    invalidNetwork(`NLRI: ${text}`, 'update.nlri'),
  );
  errors.push(...missingAttributes(attributes, nlri.length > 0));
  const error = strongestError(errors);
  if (error !== undefined) throw error;
  return { type: 'update', withdrawnRoutes, attributes, nlri };
}

export function encodeUpdate(update: Update, options: SessionOptions): Buffer {
  requireIpv4(update.withdrawnRoutes, 'update.withdrawnRoutes');
  requireIpv4(update.nlri, 'update.nlri');
  const withdrawn = encodePrefixes(update.withdrawnRoutes);
  const attributes = encodePathAttributes(update.attributes, options);
  const nlri = encodePrefixes(update.nlri);
  const length = MIN_UPDATE_LENGTH + withdrawn.length + attributes.length + nlri.length;
  if (length > MAX_MESSAGE_LENGTH) {
    throw encodeError(`a ${length}-byte UPDATE exceeds ${MAX_MESSAGE_LENGTH}: split it (packing.ts)`);
  }
  const message = allocMessage(MESSAGE_TYPE.UPDATE, length - HEADER_LENGTH);
  let offset = HEADER_LENGTH;
  offset = message.writeUInt16BE(withdrawn.length, offset);
  offset += withdrawn.copy(message, offset);
  offset = message.writeUInt16BE(attributes.length, offset);
  offset += attributes.copy(message, offset);
  nlri.copy(message, offset);
  return message;
}

/**
 * §6.3 Missing Well-known Attribute, the data being the missing type code: ORIGIN and AS_PATH for any
 * announcement (RFC 4760 §3 for MP_REACH_NLRI too), NEXT_HOP for IPv4 NLRI. LOCAL_PREF is mandatory
 * on iBGP only, which the FSM knows and we do not. RFC 7606 §3: treat-as-withdraw.
 */
function missingAttributes(attributes: readonly PathAttribute[], hasNlri: boolean): BgpWireError[] {
  const present = new Set(attributes.map(attributeCode));
  const announces = hasNlri || attributes.some((attribute) => attribute.kind === 'mpReachNlri');
  if (!announces) return [];
  const required = hasNlri ? [ORIGIN, AS_PATH, NEXT_HOP] : [ORIGIN, AS_PATH];
  return required
    .filter((codec) => !present.has(codec.code))
    .map(
      (codec) =>
        new BgpWireError(
          ERROR_CODE.UPDATE_MESSAGE,
          UPDATE_SUBCODE.MISSING_WELL_KNOWN_ATTRIBUTE,
          `${codec.name} is missing`,
          { data: Buffer.from([codec.code]), path: 'update.attributes', errorHandling: 'treat-as-withdraw' },
        ),
    );
}

function requireIpv4(prefixes: readonly Prefix[], path: string): void {
  prefixes.forEach((prefix, index) => {
    if (prefix.family !== 4) {
      throw encodeError('this field is IPv4 only: IPv6 goes in MP_(UN)REACH_NLRI', `${path}[${index}]`);
    }
  });
}

/** §6.3: lengths that do not add up are a Malformed Attribute List, with no data. */
function malformedList(message: string): BgpWireError {
  return new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, message, {
    path: 'update',
  });
}

/** §6.3 Invalid Network Field; RFC 7606 §5.3: a prefix field that cannot be parsed resets the session. */
function invalidNetwork(message: string, path: string): BgpWireError {
  return new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, UPDATE_SUBCODE.INVALID_NETWORK_FIELD, message, { path });
}
