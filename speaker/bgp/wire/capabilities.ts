/**
 * Capabilities (RFC 5492 §4), advertised inside the OPEN's Capabilities optional parameter as
 * code, length and value. We understand the four a route-announcing speaker needs and keep every
 * other one verbatim, since RFC 5492 §3 asks a speaker to ignore capabilities it does not know.
 */
import { requireUint, UINT16_MAX, UINT32_MAX, UINT8_MAX } from './encode-checks.ts';
import { BgpWireError, encodeError, ERROR_CODE, OPEN_SUBCODE } from './errors.ts';

export const CAPABILITY_CODE = {
  /** RFC 4760 §8 */
  MULTIPROTOCOL: 1,
  /** RFC 2918 §2 */
  ROUTE_REFRESH: 2,
  /** RFC 4724 §3 */
  GRACEFUL_RESTART: 64,
  /** RFC 6793 §3 */
  FOUR_OCTET_AS: 65,
} as const;

/** Each capability's code and length octets. */
export const CAPABILITY_HEADER_LENGTH = 2;

/** RFC 4760 §8: the speaker wants to exchange routes of this AFI/SAFI. */
export interface MultiprotocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: number;
  readonly safi: number;
}

/** RFC 2918 §2: the speaker accepts ROUTE-REFRESH messages. */
export interface RouteRefreshCapability {
  readonly kind: 'routeRefresh';
}

/** RFC 4724 §3. */
export interface GracefulRestartCapability {
  readonly kind: 'gracefulRestart';
  /** The R bit: the speaker has just restarted, so its peer must not wait for its End-of-RIB forever. */
  readonly restarting: boolean;
  /** The N bit (RFC 8538 §2): graceful restart also covers NOTIFICATIONs other than Hard Reset. */
  readonly notification: boolean;
  /** Seconds the peer should keep our routes while we come back (12 bits, at most 4095). */
  readonly restartTime: number;
  /** Families whose forwarding the speaker can preserve; empty for a speaker that only helps. */
  readonly families: readonly GracefulRestartFamily[];
}

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** The F bit: forwarding state for this family was kept across the restart. */
  readonly forwardingPreserved: boolean;
}

/** RFC 6793 §3: the speaker's AS in four octets, and the promise to read 4-octet AS_PATHs. */
export interface FourOctetAsCapability {
  readonly kind: 'fourOctetAs';
  readonly asn: number;
}

/** Any other capability, kept byte for byte. */
export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Buffer;
}

export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | GracefulRestartCapability
  | FourOctetAsCapability
  | UnknownCapability;

const MULTIPROTOCOL_LENGTH = 4;
const FOUR_OCTET_AS_LENGTH = 4;
const GR_HEADER_LENGTH = 2;
const GR_FAMILY_LENGTH = 4;
const GR_FLAG_RESTARTING = 0x8000;
const GR_FLAG_NOTIFICATION = 0x4000;
const GR_TIME_MASK = 0x0fff;
const GR_FLAG_FORWARDING = 0x80;

/**
 * Reads the capabilities packed in one Capabilities optional parameter. RFC 4271 §6.2 makes a
 * malformed recognized parameter an OPEN Message Error with subcode 0 (Unspecific).
 */
export function decodeCapabilities(value: Buffer, path: string, startIndex = 0): Capability[] {
  const capabilities: Capability[] = [];
  let offset = 0;
  while (offset < value.length) {
    const here = `${path}[${startIndex + capabilities.length}]`;
    if (offset + CAPABILITY_HEADER_LENGTH > value.length) {
      throw malformed(`${value.length - offset} stray byte(s) where a capability header should be`, here);
    }
    const code = value[offset]!;
    const length = value[offset + 1]!;
    const start = offset + CAPABILITY_HEADER_LENGTH;
    if (start + length > value.length) {
      throw malformed(`capability ${code} claims ${length} bytes, ${value.length - start} remain`, here);
    }
    capabilities.push(decodeCapability(code, value.subarray(start, start + length), here));
    offset = start + length;
  }
  return capabilities;
}

/** One capability with its code and length octets. */
export function encodeCapability(capability: Capability, path = 'capability'): Buffer {
  const [code, value] = capabilityValue(capability, path);
  if (value.length > UINT8_MAX) {
    throw encodeError(`a capability value is at most ${UINT8_MAX} bytes, got ${value.length}`, path);
  }
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}

function decodeCapability(code: number, value: Buffer, path: string): Capability {
  switch (code) {
    case CAPABILITY_CODE.MULTIPROTOCOL:
      requireLength(value, MULTIPROTOCOL_LENGTH, 'multiprotocol', path);
      // Octet 2 is Reserved: sent as zero, ignored on receipt (RFC 4760 §8).
      return { kind: 'multiprotocol', afi: value.readUInt16BE(0), safi: value[3]! };
    case CAPABILITY_CODE.ROUTE_REFRESH:
      requireLength(value, 0, 'route refresh', path);
      return { kind: 'routeRefresh' };
    case CAPABILITY_CODE.FOUR_OCTET_AS: {
      requireLength(value, FOUR_OCTET_AS_LENGTH, '4-octet AS', path);
      const asn = value.readUInt32BE(0);
      if (asn === 0) {
        // RFC 7607 §2: AS 0 as the peer's AS is a Bad Peer AS.
        throw new BgpWireError(ERROR_CODE.OPEN_MESSAGE, OPEN_SUBCODE.BAD_PEER_AS, 'the peer claims AS 0', {
          path,
        });
      }
      return { kind: 'fourOctetAs', asn };
    }
    case CAPABILITY_CODE.GRACEFUL_RESTART:
      return decodeGracefulRestart(value, path);
    default:
      return { kind: 'unknown', code, value: Buffer.from(value) };
  }
}

function decodeGracefulRestart(value: Buffer, path: string): GracefulRestartCapability {
  if (value.length < GR_HEADER_LENGTH || (value.length - GR_HEADER_LENGTH) % GR_FAMILY_LENGTH !== 0) {
    throw malformed(`a graceful restart capability is 2 + 4n bytes, got ${value.length}`, path);
  }
  const flagsAndTime = value.readUInt16BE(0);
  const families: GracefulRestartFamily[] = [];
  for (let offset = GR_HEADER_LENGTH; offset < value.length; offset += GR_FAMILY_LENGTH) {
    families.push({
      afi: value.readUInt16BE(offset),
      safi: value[offset + 2]!,
      // The other seven flag bits are reserved: ignored on receipt (RFC 4724 §3).
      forwardingPreserved: (value[offset + 3]! & GR_FLAG_FORWARDING) !== 0,
    });
  }
  return {
    kind: 'gracefulRestart',
    restarting: (flagsAndTime & GR_FLAG_RESTARTING) !== 0,
    notification: (flagsAndTime & GR_FLAG_NOTIFICATION) !== 0,
    restartTime: flagsAndTime & GR_TIME_MASK,
    families,
  };
}

function capabilityValue(capability: Capability, path: string): [code: number, value: Buffer] {
  switch (capability.kind) {
    case 'multiprotocol': {
      requireUint(capability.afi, UINT16_MAX, `${path}.afi`);
      requireUint(capability.safi, UINT8_MAX, `${path}.safi`);
      const value = Buffer.alloc(MULTIPROTOCOL_LENGTH);
      value.writeUInt16BE(capability.afi, 0);
      value[3] = capability.safi;
      return [CAPABILITY_CODE.MULTIPROTOCOL, value];
    }
    case 'routeRefresh':
      return [CAPABILITY_CODE.ROUTE_REFRESH, Buffer.alloc(0)];
    case 'fourOctetAs': {
      requireUint(capability.asn, UINT32_MAX, `${path}.asn`);
      const value = Buffer.alloc(FOUR_OCTET_AS_LENGTH);
      value.writeUInt32BE(capability.asn, 0);
      return [CAPABILITY_CODE.FOUR_OCTET_AS, value];
    }
    case 'gracefulRestart': {
      requireUint(capability.restartTime, GR_TIME_MASK, `${path}.restartTime`);
      const value = Buffer.alloc(GR_HEADER_LENGTH + GR_FAMILY_LENGTH * capability.families.length);
      value.writeUInt16BE(
        (capability.restarting ? GR_FLAG_RESTARTING : 0) |
          (capability.notification ? GR_FLAG_NOTIFICATION : 0) |
          capability.restartTime,
        0,
      );
      capability.families.forEach((family, index) => {
        requireUint(family.afi, UINT16_MAX, `${path}.families[${index}].afi`);
        requireUint(family.safi, UINT8_MAX, `${path}.families[${index}].safi`);
        const offset = GR_HEADER_LENGTH + GR_FAMILY_LENGTH * index;
        value.writeUInt16BE(family.afi, offset);
        value[offset + 2] = family.safi;
        value[offset + 3] = family.forwardingPreserved ? GR_FLAG_FORWARDING : 0;
      });
      return [CAPABILITY_CODE.GRACEFUL_RESTART, value];
    }
    case 'unknown':
      requireUint(capability.code, UINT8_MAX, `${path}.code`);
      if (Object.values<number>(CAPABILITY_CODE).includes(capability.code)) {
        // Would decode as the known kind and so not round-trip; build that kind instead.
        throw encodeError(`capability ${capability.code} is known: use its own kind`, `${path}.code`);
      }
      return [capability.code, capability.value];
  }
}

function requireLength(value: Buffer, expected: number, name: string, path: string): void {
  if (value.length !== expected) {
    throw malformed(`a ${name} capability is ${expected} bytes, got ${value.length}`, path);
  }
}

function malformed(message: string, path: string): BgpWireError {
  return new BgpWireError(ERROR_CODE.OPEN_MESSAGE, OPEN_SUBCODE.UNSPECIFIC, message, { path });
}
