/**
 * ARP (RFC 826) for IPv4 over Ethernet, the only combination layer 2 announces: requests in, replies
 * and gratuitous announcements out. Other hardware or protocol types are refused, not guessed at,
 * because the field offsets depend on them.
 */
import { MetallbError } from '../../shared/errors.ts';
import type { IpAddress } from '../../shared/ip/address.ts';
import {
  allocFrame,
  decodeEthernet,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
} from './ethernet.ts';
import { readIpv4, writeIp } from './ip-bytes.ts';
import { broadcastMac, MAC_LENGTH, requireMac } from './mac.ts';

// RFC 826 "Packet format" with ar$hrd = 1 (Ethernet), ar$pro = 0x0800, ar$hln = 6, ar$pln = 4.
const HARDWARE_ETHERNET = 1;
const IPV4_LENGTH = 4;
const ARP_LENGTH = 8 + 2 * (MAC_LENGTH + IPV4_LENGTH);
const OFFSET = {
  hardwareType: 0,
  protocolType: 2,
  hardwareLength: 4,
  protocolLength: 5,
  operation: 6,
  senderMac: 8,
  senderIp: 14,
  targetMac: 18,
  targetIp: 24,
} as const;

const OPERATION_CODES = { request: 1, reply: 2 } as const;
export type ArpOperation = keyof typeof OPERATION_CODES;

export interface ArpFrame {
  /** Ethernet destination: broadcast for requests, the requester for replies. */
  readonly dstMac: Buffer;
  /** Ethernet source. */
  readonly srcMac: Buffer;
  readonly operation: ArpOperation;
  readonly senderMac: Buffer;
  readonly senderIp: IpAddress;
  readonly targetMac: Buffer;
  readonly targetIp: IpAddress;
}

/** Decodes an ARP request or reply; bytes after the 28-byte ARP packet (Ethernet padding) are ignored. */
export function decodeArp(frame: Buffer): ArpFrame {
  const ethernet = decodeEthernet(frame);
  if (ethernet.ethertype !== ETHERTYPE_ARP) {
    throw new MetallbError(
      'FRAME_NOT_ARP',
      `ethertype 0x${ethernet.ethertype.toString(16).padStart(4, '0')} is not ARP`,
      'ethernet.ethertype',
    );
  }
  const arp = ethernet.payload;
  if (arp.length < ARP_LENGTH) {
    throw new MetallbError(
      'FRAME_TRUNCATED',
      `an ARP packet is ${ARP_LENGTH} bytes, got ${arp.length}`,
      'arp',
    );
  }
  requireField(arp.readUInt16BE(OFFSET.hardwareType), HARDWARE_ETHERNET, 'hardwareType');
  requireField(arp.readUInt16BE(OFFSET.protocolType), ETHERTYPE_IPV4, 'protocolType');
  requireField(arp.readUInt8(OFFSET.hardwareLength), MAC_LENGTH, 'hardwareLength');
  requireField(arp.readUInt8(OFFSET.protocolLength), IPV4_LENGTH, 'protocolLength');
  const code = arp.readUInt16BE(OFFSET.operation);
  const operation =
    code === OPERATION_CODES.request ? 'request' : code === OPERATION_CODES.reply ? 'reply' : null;
  if (operation === null) {
    // RARP (3, 4) and InARP (8, 9) share the format but are not ours to answer.
    throw new MetallbError(
      'ARP_BAD_OPERATION',
      `ARP operation ${code} is neither request (1) nor reply (2)`,
      'arp.operation',
    );
  }
  return {
    dstMac: ethernet.dst,
    srcMac: ethernet.src,
    operation,
    senderMac: Buffer.from(arp.subarray(OFFSET.senderMac, OFFSET.senderMac + MAC_LENGTH)),
    senderIp: readIpv4(arp, OFFSET.senderIp),
    targetMac: Buffer.from(arp.subarray(OFFSET.targetMac, OFFSET.targetMac + MAC_LENGTH)),
    targetIp: readIpv4(arp, OFFSET.targetIp),
  };
}

/** Encodes the frame exactly as described, zero-padded to the Ethernet minimum (RFC 894). */
export function encodeArp(arp: ArpFrame): Buffer {
  requireMac(arp.senderMac, 'arp.senderMac');
  requireMac(arp.targetMac, 'arp.targetMac');
  requireIpv4(arp.senderIp, 'arp.senderIp');
  requireIpv4(arp.targetIp, 'arp.targetIp');
  const frame = allocFrame(arp.dstMac, arp.srcMac, ETHERTYPE_ARP, ARP_LENGTH);
  const packet = frame.subarray(ETHERNET_HEADER_LENGTH);
  packet.writeUInt16BE(HARDWARE_ETHERNET, OFFSET.hardwareType);
  packet.writeUInt16BE(ETHERTYPE_IPV4, OFFSET.protocolType);
  packet.writeUInt8(MAC_LENGTH, OFFSET.hardwareLength);
  packet.writeUInt8(IPV4_LENGTH, OFFSET.protocolLength);
  packet.writeUInt16BE(OPERATION_CODES[arp.operation], OFFSET.operation);
  arp.senderMac.copy(packet, OFFSET.senderMac);
  writeIp(arp.senderIp, packet, OFFSET.senderIp);
  arp.targetMac.copy(packet, OFFSET.targetMac);
  writeIp(arp.targetIp, packet, OFFSET.targetIp);
  return frame;
}

export interface ArpReplyFields {
  /** Our MAC: the Ethernet source and the ARP sender hardware address. */
  readonly srcMac: Buffer;
  /** The requester's MAC, the Ethernet destination (the reply is unicast). */
  readonly dstMac: Buffer;
  /** The address being answered for (the VIP). */
  readonly senderIp: IpAddress;
  /** The request's sender hardware and protocol addresses. */
  readonly targetMac: Buffer;
  readonly targetIp: IpAddress;
}

/** The unicast reply to a request: RFC 826 "swap sender and target, put in our hardware address". */
export function arpReply(fields: ArpReplyFields): Buffer {
  return encodeArp({
    dstMac: fields.dstMac,
    srcMac: fields.srcMac,
    operation: 'reply',
    senderMac: fields.srcMac,
    senderIp: fields.senderIp,
    targetMac: fields.targetMac,
    targetIp: fields.targetIp,
  });
}

/**
 * The gratuitous pair that moves neighbours' caches to `mac` when an address changes hands: both
 * broadcast, both with sender IP = target IP = `ip` (RFC 2002 §4.6). Some stacks update only on a
 * request and others only on a reply, hence one of each, as MetalLB sends.
 * - Request: the ARP Announcement of RFC 5227 §3, target hardware address zero.
 * - Reply: target hardware address = sender's (RFC 2002 §4.6). Linux's arp_is_garp() relies on it:
 *   only a reply with sha == tha counts as gratuitous and overrides the neighbour locktime (1 s);
 *   MetalLB's reply carries ff:ff:ff:ff:ff:ff there, which Linux ignores within that second.
 */
export function gratuitousArp(fields: {
  readonly mac: Buffer;
  readonly ip: IpAddress;
}): readonly [request: Buffer, reply: Buffer] {
  const common = {
    dstMac: broadcastMac(),
    srcMac: fields.mac,
    senderMac: fields.mac,
    senderIp: fields.ip,
    targetIp: fields.ip,
  };
  return [
    encodeArp({ ...common, operation: 'request', targetMac: Buffer.alloc(MAC_LENGTH) }),
    encodeArp({ ...common, operation: 'reply', targetMac: fields.mac }),
  ];
}

function requireField(actual: number, expected: number, field: keyof typeof OFFSET): void {
  if (actual !== expected) {
    throw new MetallbError(
      'ARP_UNSUPPORTED',
      `${field} ${actual} is not ${expected}: only IPv4 over Ethernet is handled`,
      `arp.${field}`,
    );
  }
}

function requireIpv4(ip: IpAddress, field: string): void {
  if (ip.family !== 4)
    throw new MetallbError('FRAME_INVALID_FIELD', 'ARP carries IPv4 addresses only', field);
}
