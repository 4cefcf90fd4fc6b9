/**
 * OPEN (RFC 4271 §4.2): the first message of a session. Version, our AS in two octets, the hold time
 * we propose, our BGP Identifier, and optional parameters, of which only Capabilities (type 2,
 * RFC 5492 §4) is still in use. Checks that need nothing but the message itself are made here
 * (§6.2: version, hold time, identifier, parameters); those that need the configuration (is this the
 * AS we expect? RFC 4271 §6.2 Bad Peer AS) belong to the FSM.
 */
import type { Family, IpAddress } from '../../../shared/ip/address.ts';
import { afiOf, SAFI } from './address-family.ts';
import {
  decodeCapabilities,
  encodeCapability,
  type Capability,
  type GracefulRestartCapability,
} from './capabilities.ts';
import { requireUint, UINT16_MAX, UINT32_MAX, UINT8_MAX } from './encode-checks.ts';
import { BgpWireError, encodeError, ERROR_CODE, OPEN_SUBCODE } from './errors.ts';
import { allocMessage, badLength, HEADER_LENGTH, MESSAGE_TYPE } from './header.ts';
import { messageBody } from './message-body.ts';

export const BGP_VERSION = 4;
/** RFC 6793 §3: the 2-octet stand-in for an AS number that needs four octets. */
export const AS_TRANS = 23456;
const OFFSET = { version: 0, myAs: 1, holdTime: 3, bgpIdentifier: 5, optionalParametersLength: 9 } as const;
const FIXED_BODY_LENGTH = 10;
const PARAMETER_CAPABILITIES = 2;
/**
 * RFC 9072 §2: an Optional Parameters Length of 255 followed by a parameter of type 255 announces
 * the extended form, where the real length and each parameter's length take two octets.
 */
const EXTENDED_PARAMETERS = 255;

export interface Open {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field: AS_TRANS when our AS does not fit (RFC 6793 §4.1). */
  readonly myAs: number;
  /** Seconds; 0 (no keepalives at all) or at least 3 (§4.2). */
  readonly holdTime: number;
  readonly bgpIdentifier: IpAddress;
  /** In the order sent. Grouping into parameters is not kept: see encodeOpen. */
  readonly capabilities: readonly Capability[];
}

export function decodeOpen(message: Buffer): Open {
  const body = messageBody(message, 'OPEN');
  if (body.length < FIXED_BODY_LENGTH) {
    throw badLength(
      message.length,
      `an OPEN is at least ${HEADER_LENGTH + FIXED_BODY_LENGTH} bytes, got ${message.length}`,
    );
  }
  const version = body[OFFSET.version]!;
  if (version !== BGP_VERSION) {
    // §6.2: the data is the largest version we support, as a 2-octet integer.
    const data = Buffer.alloc(2);
    data.writeUInt16BE(BGP_VERSION);
    throw new BgpWireError(
      ERROR_CODE.OPEN_MESSAGE,
      OPEN_SUBCODE.UNSUPPORTED_VERSION_NUMBER,
      `BGP version ${version} is not ${BGP_VERSION}`,
      { data, path: 'open.version' },
    );
  }
  const myAs = body.readUInt16BE(OFFSET.myAs);
  if (myAs === 0) {
    // RFC 7607 §2: no speaker may claim AS 0.
    throw new BgpWireError(ERROR_CODE.OPEN_MESSAGE, OPEN_SUBCODE.BAD_PEER_AS, 'the peer claims AS 0', {
      path: 'open.myAs',
    });
  }
  const holdTime = body.readUInt16BE(OFFSET.holdTime);
  if (holdTime === 1 || holdTime === 2) {
    throw new BgpWireError(
      ERROR_CODE.OPEN_MESSAGE,
      OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME,
      `hold time ${holdTime} s: it must be 0 or at least 3 (RFC 4271 §4.2)`,
      { path: 'open.holdTime' },
    );
  }
  const identifier = body.readUInt32BE(OFFSET.bgpIdentifier);
  if (identifier === 0) {
    // RFC 6286 §2: any non-zero 4-octet value, no longer necessarily one of the speaker's addresses.
    throw new BgpWireError(
      ERROR_CODE.OPEN_MESSAGE,
      OPEN_SUBCODE.BAD_BGP_IDENTIFIER,
      'BGP Identifier 0.0.0.0',
      { path: 'open.bgpIdentifier' },
    );
  }
  return {
    type: 'open',
    version,
    myAs,
    holdTime,
    bgpIdentifier: { family: 4, value: BigInt(identifier) },
    capabilities: decodeParameters(body),
  };
}

/**
 * One capability per optional parameter, as FRR, GoBGP and Cisco IOS send them: RFC 5492 §4 allows
 * several per parameter too (BIRD does that), but some old implementations read only the first
 * capability of each parameter. The extended parameter form (RFC 9072) is used only when the
 * parameters would not fit the classic one-octet lengths.
 */
export function encodeOpen(open: Open): Buffer {
  requireUint(open.version, UINT8_MAX, 'open.version');
  requireUint(open.myAs, UINT16_MAX, 'open.myAs');
  requireUint(open.holdTime, UINT16_MAX, 'open.holdTime');
  if (open.bgpIdentifier.family !== 4) throw encodeError('the BGP Identifier is IPv4', 'open.bgpIdentifier');
  const parameters = open.capabilities.map((capability, index) =>
    encodeCapability(capability, `open.capabilities[${index}]`),
  );
  const classicLength = parameters.reduce((sum, value) => sum + 2 + value.length, 0);
  const extended = classicLength > UINT8_MAX || parameters.some((value) => value.length > UINT8_MAX);
  const parametersLength = extended
    ? 3 + parameters.reduce((sum, value) => sum + 3 + value.length, 0)
    : classicLength;
  const message = allocMessage(MESSAGE_TYPE.OPEN, FIXED_BODY_LENGTH + parametersLength);
  const body = message.subarray(HEADER_LENGTH);
  body[OFFSET.version] = open.version;
  body.writeUInt16BE(open.myAs, OFFSET.myAs);
  body.writeUInt16BE(open.holdTime, OFFSET.holdTime);
  body.writeUInt32BE(Number(open.bgpIdentifier.value & 0xffff_ffffn), OFFSET.bgpIdentifier);
  let offset = FIXED_BODY_LENGTH;
  if (extended) {
    body[OFFSET.optionalParametersLength] = EXTENDED_PARAMETERS;
    body[offset] = EXTENDED_PARAMETERS;
    body.writeUInt16BE(parametersLength - 3, offset + 1);
    offset += 3;
  } else {
    body[OFFSET.optionalParametersLength] = parametersLength;
  }
  for (const value of parameters) {
    body[offset++] = PARAMETER_CAPABILITIES;
    if (extended) {
      body.writeUInt16BE(value.length, offset);
      offset += 2;
    } else {
      body[offset++] = value.length;
    }
    value.copy(body, offset);
    offset += value.length;
  }
  return message;
}

/** The AS the peer really is: the 4-octet capability's, else the 2-octet field (RFC 6793 §4.1). */
export function openAsn(open: Open): number {
  for (const capability of open.capabilities) {
    if (capability.kind === 'fourOctetAs') return capability.asn;
  }
  return open.myAs;
}

/** The 2-octet My AS field for `asn`: itself, or AS_TRANS when it needs four octets. */
export function twoOctetAs(asn: number): number {
  return asn > UINT16_MAX ? AS_TRANS : asn;
}

function decodeParameters(body: Buffer): Capability[] {
  const declared = body[OFFSET.optionalParametersLength]!;
  let offset = FIXED_BODY_LENGTH;
  let lengthBytes = 1;
  let end = FIXED_BODY_LENGTH + declared;
  if (declared === EXTENDED_PARAMETERS && body[offset] === EXTENDED_PARAMETERS) {
    if (body.length < offset + 3) throw malformed('truncated extended optional parameters length');
    end = offset + 3 + body.readUInt16BE(offset + 1);
    offset += 3;
    lengthBytes = 2;
  }
  if (end !== body.length) {
    // §6.2 gives no subcode for this; as a malformed parameter, it is Unspecific.
    throw malformed(`optional parameters end at byte ${end} of the body, the body has ${body.length}`);
  }
  const capabilities: Capability[] = [];
  let index = 0;
  while (offset < end) {
    const path = `open.parameters[${index}]`;
    if (offset + 1 + lengthBytes > end) throw malformed('truncated optional parameter header', path);
    const type = body[offset]!;
    const length = lengthBytes === 1 ? body[offset + 1]! : body.readUInt16BE(offset + 1);
    const start = offset + 1 + lengthBytes;
    if (start + length > end) {
      throw malformed(`optional parameter claims ${length} bytes, ${end - start} remain`, path);
    }
    if (type !== PARAMETER_CAPABILITIES) {
      // Type 1 (Authentication) was dropped by RFC 4271; nothing else was ever defined.
      throw new BgpWireError(
        ERROR_CODE.OPEN_MESSAGE,
        OPEN_SUBCODE.UNSUPPORTED_OPTIONAL_PARAMETER,
        `optional parameter type ${type} is not Capabilities (2)`,
        { path: `${path}.type` },
      );
    }
    capabilities.push(
      ...decodeCapabilities(body.subarray(start, start + length), 'open.capabilities', capabilities.length),
    );
    offset = start + length;
    index++;
  }
  return capabilities;
}

function malformed(message: string, path = 'open.parameters'): BgpWireError {
  return new BgpWireError(ERROR_CODE.OPEN_MESSAGE, OPEN_SUBCODE.UNSPECIFIC, message, { path });
}

export interface OpenParameters {
  /** Our AS, 1 to 4294967295. */
  readonly asn: number;
  readonly holdTime: number;
  readonly bgpIdentifier: IpAddress;
  /** Unicast families to exchange, each advertised with the multiprotocol capability (RFC 4760 §8). */
  readonly families: readonly Family[];
  /** Advertise ROUTE-REFRESH support (RFC 2918 §2); our answer is to re-send the family's routes. */
  readonly routeRefresh?: boolean;
  /** Advertise graceful restart (RFC 4724 §3): the peer keeps our routes while we restart. */
  readonly gracefulRestart?: Omit<GracefulRestartCapability, 'kind'>;
}

/**
 * Our OPEN. Always with the 4-octet AS capability: every speaker since RFC 6793 is a "NEW" one
 * (§4.1), and it keeps AS_TRANS in the 2-octet field meaningful for ASes above 65535.
 */
export function makeOpen(parameters: OpenParameters): Open {
  requireUint(parameters.asn, UINT32_MAX, 'open.asn');
  if (parameters.asn === 0) throw encodeError('AS 0 may not open a session (RFC 7607 §2)', 'open.asn');
  const capabilities: Capability[] = parameters.families.map((family) => ({
    kind: 'multiprotocol',
    afi: afiOf(family),
    safi: SAFI.UNICAST,
  }));
  if (parameters.routeRefresh === true) capabilities.push({ kind: 'routeRefresh' });
  if (parameters.gracefulRestart !== undefined) {
    capabilities.push({ kind: 'gracefulRestart', ...parameters.gracefulRestart });
  }
  capabilities.push({ kind: 'fourOctetAs', asn: parameters.asn });
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: twoOctetAs(parameters.asn),
    holdTime: parameters.holdTime,
    bgpIdentifier: parameters.bgpIdentifier,
    capabilities,
  };
}
