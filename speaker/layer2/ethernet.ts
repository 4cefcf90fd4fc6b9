/**
 * Ethernet II framing (RFC 894): destination MAC, source MAC, ethertype, payload. Only untagged
 * frames: a packet socket bound to one ethertype on Linux receives VLAN traffic with the tag already
 * moved out of the bytes, so a tag seen here means a frame we were never meant to answer.
 */
import { MetallbError } from '../../shared/errors.ts';
import { MAC_LENGTH, requireMac } from './mac.ts';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export const ETHERNET_HEADER_LENGTH = 14;
/**
 * RFC 894: the data field is at least 46 octets, padded with zeros, so a frame without its FCS is at
 * least 60. Drivers usually pad short frames themselves, but not all do, and veth never does.
 */
export const ETHERNET_MIN_FRAME = 60;

// Values up to 1500 are an IEEE 802.3 length, not a type; 1536 (0x0600) is the first ethertype.
const FIRST_ETHERTYPE = 0x0600;
// 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ tag still emitted by some switches.
const VLAN_TPIDS: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);

export interface EthernetFrame {
  readonly dst: Buffer;
  readonly src: Buffer;
  readonly ethertype: number;
  /** On decode, a view into the input (no copy) that includes any trailing padding. */
  readonly payload: Buffer;
}

/** Splits an untagged Ethernet II frame. MACs are copies; the payload shares the input's memory. */
export function decodeEthernet(frame: Buffer): EthernetFrame {
  if (frame.length < ETHERNET_HEADER_LENGTH) {
    throw new MetallbError(
      'FRAME_TRUNCATED',
      `an Ethernet header is ${ETHERNET_HEADER_LENGTH} bytes, got ${frame.length}`,
      'ethernet',
    );
  }
  const ethertype = frame.readUInt16BE(2 * MAC_LENGTH);
  checkEthertype(ethertype, 'FRAME');
  return {
    dst: Buffer.from(frame.subarray(0, MAC_LENGTH)),
    src: Buffer.from(frame.subarray(MAC_LENGTH, 2 * MAC_LENGTH)),
    ethertype,
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  };
}

/** Builds the frame, zero-padded to the RFC 894 minimum. */
export function encodeEthernet(frame: EthernetFrame): Buffer {
  const bytes = allocFrame(frame.dst, frame.src, frame.ethertype, frame.payload.length);
  frame.payload.copy(bytes, ETHERNET_HEADER_LENGTH);
  return bytes;
}

/**
 * A zeroed frame with its header written and room for `payloadLength` bytes at offset 14, padded to
 * the minimum: the protocol encoders write their payload in place instead of copying it twice.
 */
export function allocFrame(dst: Buffer, src: Buffer, ethertype: number, payloadLength: number): Buffer {
  requireMac(dst, 'ethernet.dst');
  requireMac(src, 'ethernet.src');
  checkEthertype(ethertype, 'ENCODE');
  const bytes = Buffer.alloc(Math.max(ETHERNET_MIN_FRAME, ETHERNET_HEADER_LENGTH + payloadLength));
  dst.copy(bytes, 0);
  src.copy(bytes, MAC_LENGTH);
  bytes.writeUInt16BE(ethertype, 2 * MAC_LENGTH);
  return bytes;
}

function checkEthertype(ethertype: number, side: 'FRAME' | 'ENCODE'): void {
  const hex = `0x${ethertype.toString(16).padStart(4, '0')}`;
  if (side === 'ENCODE' && !(Number.isInteger(ethertype) && ethertype <= 0xffff)) {
    throw new MetallbError(
      'FRAME_INVALID_FIELD',
      `ethertype ${ethertype} is not a 16-bit value`,
      'ethernet.ethertype',
    );
  }
  if (ethertype < FIRST_ETHERTYPE) {
    throw new MetallbError(
      side === 'FRAME' ? 'FRAME_NOT_ETHERNET_II' : 'FRAME_INVALID_FIELD',
      `${hex} is an IEEE 802.3 length field, not an ethertype`,
      'ethernet.ethertype',
    );
  }
  if (VLAN_TPIDS.has(ethertype)) {
    throw new MetallbError(
      side === 'FRAME' ? 'FRAME_VLAN_TAGGED' : 'FRAME_INVALID_FIELD',
      `${hex} is a VLAN tag; only untagged frames are handled`,
      'ethernet.ethertype',
    );
  }
}
