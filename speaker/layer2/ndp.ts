/**
 * IPv6 Neighbor Discovery (RFC 4861) over Ethernet, the IPv6 counterpart of ARP: Neighbor
 * Solicitations in, Neighbor Advertisements out. Whole frames (Ethernet + IPv6 + ICMPv6), because a
 * packet socket sends exactly what we build, including the hop limit and the checksum. Extension
 * headers are not parsed: NDP messages carry none, and the socket filter already requires the
 * ICMPv6 header right after the IPv6 one.
 */
import { MetallbError, type ErrorCode } from '../../shared/errors.ts';
import type { IpAddress } from '../../shared/ip/address.ts';
import { allocFrame, decodeEthernet, ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV6 } from './ethernet.ts';
import { icmpv6Checksum } from './icmpv6-checksum.ts';
import { readIpv6, writeIp } from './ip-bytes.ts';
import { MAC_LENGTH, requireMac } from './mac.ts';

// RFC 8200 §3 fixed header; offsets within it.
const IPV6_HEADER_LENGTH = 40;
const IPV6 = {
  versionClassFlow: 0,
  payloadLength: 4,
  nextHeader: 6,
  hopLimit: 7,
  source: 8,
  destination: 24,
};
const NEXT_HEADER_ICMPV6 = 58;
// §7.1.1 / §7.1.2: 255 proves the packet was not forwarded by a router, i.e. came from the link.
const NDP_HOP_LIMIT = 255;

// ICMPv6 offsets (RFC 4443 §2.1; RFC 4861 §4.3, §4.4): the fourth word is NS reserved / NA flags.
const ICMP = { type: 0, code: 1, checksum: 2, flags: 4, target: 8, options: 24 } as const;
const TYPE_NEIGHBOR_SOLICITATION = 135;
const TYPE_NEIGHBOR_ADVERTISEMENT = 136;
const FLAG_ROUTER = 0x80000000;
const FLAG_SOLICITED = 0x40000000;
const FLAG_OVERRIDE = 0x20000000;

// §4.6: option type and length in units of 8 octets; on Ethernet a link-layer address option is
// one unit, type + length + 6-byte MAC (RFC 2464 §8).
const OPTION_UNIT = 8;
const OPTION_SOURCE_LINK_LAYER = 1;
const OPTION_TARGET_LINK_LAYER = 2;

const MULTICAST_PREFIX_BYTE = 0xff;
/** ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
export const ALL_NODES: IpAddress = Object.freeze({
  family: 6,
  value: 0xff02_0000_0000_0000_0000_0000_0000_0001n,
});
// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
const SOLICITED_NODE_PREFIX = 0xff02_0000_0000_0000_0000_0001_ff00_0000n;
const LOW_24_BITS = 0xff_ffffn;

export interface NeighborSolicitation {
  /** Ethernet destination and source. */
  readonly dstMac: Buffer;
  readonly srcMac: Buffer;
  /** IPv6 source; the unspecified address :: for Duplicate Address Detection (RFC 4862 §5.4.2). */
  readonly source: IpAddress;
  /** IPv6 destination: usually the target's solicited-node group, unicast when re-verifying. */
  readonly destination: IpAddress;
  /** The address being resolved. */
  readonly target: IpAddress;
  /** Source link-layer address option (type 1); absent in DAD and allowed to be absent in unicast NS. */
  readonly sourceLinkLayerAddress?: Buffer;
}

export interface NeighborAdvertisement {
  readonly dstMac: Buffer;
  readonly srcMac: Buffer;
  readonly source: IpAddress;
  readonly destination: IpAddress;
  readonly target: IpAddress;
  /** R: the sender is a router. */
  readonly router: boolean;
  /** S: a reply to a solicitation (never set when sent to a multicast group). */
  readonly solicited: boolean;
  /** O: replace a cached link-layer address. */
  readonly override: boolean;
  /** Target link-layer address option (type 2). */
  readonly targetLinkLayerAddress?: Buffer;
}

/** Decodes and validates a Neighbor Solicitation per RFC 4861 §7.1.1. */
export function decodeNeighborSolicitation(frame: Buffer): NeighborSolicitation {
  const ndp = decodeNdp(frame, TYPE_NEIGHBOR_SOLICITATION, OPTION_SOURCE_LINK_LAYER);
  if (ndp.source.value === 0n) {
    // An address-less node probing for duplicates asks the would-be owner's group and must not
    // plant a cache entry for itself anywhere.
    if (!isSolicitedNodeMulticast(ndp.destination)) {
      fail(
        'NDP_BAD_DAD',
        'a solicitation from :: must go to a solicited-node multicast group',
        'ipv6.destination',
      );
    }
    if (ndp.linkLayerAddress) {
      fail(
        'NDP_BAD_DAD',
        'a solicitation from :: must not carry a source link-layer address option',
        'ndp.options',
      );
    }
  }
  return {
    dstMac: ndp.dstMac,
    srcMac: ndp.srcMac,
    source: ndp.source,
    destination: ndp.destination,
    target: ndp.target,
    ...(ndp.linkLayerAddress && { sourceLinkLayerAddress: ndp.linkLayerAddress }),
  };
}

/** Decodes and validates a Neighbor Advertisement per RFC 4861 §7.1.2. */
export function decodeNeighborAdvertisement(frame: Buffer): NeighborAdvertisement {
  const ndp = decodeNdp(frame, TYPE_NEIGHBOR_ADVERTISEMENT, OPTION_TARGET_LINK_LAYER);
  const solicited = (ndp.flags & FLAG_SOLICITED) !== 0;
  if (solicited && isMulticast(ndp.destination)) {
    fail(
      'NDP_BAD_FLAGS',
      'an advertisement to a multicast group must not have the Solicited flag',
      'ndp.flags',
    );
  }
  return {
    dstMac: ndp.dstMac,
    srcMac: ndp.srcMac,
    source: ndp.source,
    destination: ndp.destination,
    target: ndp.target,
    router: (ndp.flags & FLAG_ROUTER) !== 0,
    solicited,
    override: (ndp.flags & FLAG_OVERRIDE) !== 0,
    ...(ndp.linkLayerAddress && { targetLinkLayerAddress: ndp.linkLayerAddress }),
  };
}

/** Encodes `ns`; refuses what decoding would refuse, so every frame we build passes §7.1.1. */
export function encodeNeighborSolicitation(ns: NeighborSolicitation): Buffer {
  if (ns.source.value === 0n && (ns.sourceLinkLayerAddress || !isSolicitedNodeMulticast(ns.destination))) {
    fail(
      'FRAME_INVALID_FIELD',
      'a solicitation from :: goes to a solicited-node group without a link-layer option',
      'ipv6.source',
    );
  }
  return encodeNdp(ns, TYPE_NEIGHBOR_SOLICITATION, 0, OPTION_SOURCE_LINK_LAYER, ns.sourceLinkLayerAddress);
}

/** Encodes `na`; refuses what decoding would refuse, so every frame we build passes §7.1.2. */
export function encodeNeighborAdvertisement(na: NeighborAdvertisement): Buffer {
  if (na.solicited && isMulticast(na.destination)) {
    fail('FRAME_INVALID_FIELD', 'an advertisement to a multicast group cannot be solicited', 'ndp.flags');
  }
  const flags =
    (na.router ? FLAG_ROUTER : 0) | (na.solicited ? FLAG_SOLICITED : 0) | (na.override ? FLAG_OVERRIDE : 0);
  return encodeNdp(
    na,
    TYPE_NEIGHBOR_ADVERTISEMENT,
    flags >>> 0,
    OPTION_TARGET_LINK_LAYER,
    na.targetLinkLayerAddress,
  );
}

/**
 * The answer to `solicitation` from the owner of its target, whose MAC is `mac` (RFC 4861 §7.2.4).
 * Sourced from the target address itself: ndisc6 and similar tools ignore an advertisement from any
 * other address. O=1 because the address is ours; R=0 because a VIP is no router. A DAD probe (from
 * ::) has nobody to unicast to, so its answer goes to all nodes with S=0; otherwise the reply is
 * unicast to the solicitor at the MAC its option gave, or the frame came from when it gave none.
 */
export function solicitedNeighborAdvertisement(fields: {
  readonly mac: Buffer;
  readonly solicitation: NeighborSolicitation;
}): Buffer {
  const { mac, solicitation } = fields;
  const dad = solicitation.source.value === 0n;
  const destination = dad ? ALL_NODES : solicitation.source;
  return encodeNeighborAdvertisement({
    dstMac: dad ? ipv6MulticastMac(ALL_NODES) : (solicitation.sourceLinkLayerAddress ?? solicitation.srcMac),
    srcMac: mac,
    source: solicitation.target,
    destination,
    target: solicitation.target,
    router: false,
    solicited: !dad,
    override: true,
    targetLinkLayerAddress: mac,
  });
}

/**
 * The IPv6 gratuitous announcement (RFC 4861 §7.2.6): to all nodes, S=0, O=1, so neighbours that
 * already cache `ip` move it to `mac`. Linux ignores it for addresses it has no entry for.
 */
export function unsolicitedNeighborAdvertisement(fields: {
  readonly mac: Buffer;
  readonly ip: IpAddress;
}): Buffer {
  return encodeNeighborAdvertisement({
    dstMac: ipv6MulticastMac(ALL_NODES),
    srcMac: fields.mac,
    source: fields.ip,
    destination: ALL_NODES,
    target: fields.ip,
    router: false,
    solicited: false,
    override: true,
    targetLinkLayerAddress: fields.mac,
  });
}

/** ff02::1:ffXX:XXXX, the group an NS for `ip` is sent to (RFC 4291 §2.7.1): we join it per VIP. */
export function solicitedNodeMulticast(ip: IpAddress): IpAddress {
  requireIpv6(ip, 'ip');
  return { family: 6, value: SOLICITED_NODE_PREFIX | (ip.value & LOW_24_BITS) };
}

/** The Ethernet MAC of an IPv6 multicast group: 33:33 + its last 4 bytes (RFC 2464 §7). */
export function ipv6MulticastMac(group: IpAddress): Buffer {
  requireIpv6(group, 'group');
  if (!isMulticast(group)) {
    throw new MetallbError('FRAME_INVALID_FIELD', 'not an IPv6 multicast address', 'group');
  }
  const mac = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  mac.writeUInt32BE(Number(group.value & 0xffff_ffffn), 2);
  return mac;
}

/** 33:33:ff:XX:XX:XX, the MAC a NIC must accept to hear solicitations for `ip`. */
export function solicitedNodeMulticastMac(ip: IpAddress): Buffer {
  return ipv6MulticastMac(solicitedNodeMulticast(ip));
}

interface DecodedNdp {
  readonly dstMac: Buffer;
  readonly srcMac: Buffer;
  readonly source: IpAddress;
  readonly destination: IpAddress;
  readonly flags: number;
  readonly target: IpAddress;
  readonly linkLayerAddress: Buffer | undefined;
}

/** The checks RFC 4861 §7.1.1 and §7.1.2 share, then the option this message type carries. */
function decodeNdp(frame: Buffer, type: number, linkLayerOption: number): DecodedNdp {
  const ethernet = decodeEthernet(frame);
  if (ethernet.ethertype !== ETHERTYPE_IPV6) {
    fail(
      'FRAME_NOT_IPV6',
      `ethertype 0x${ethernet.ethertype.toString(16).padStart(4, '0')} is not IPv6`,
      'ethernet.ethertype',
    );
  }
  const ip = ethernet.payload;
  if (ip.length < IPV6_HEADER_LENGTH) {
    fail('FRAME_TRUNCATED', `an IPv6 header is ${IPV6_HEADER_LENGTH} bytes, got ${ip.length}`, 'ipv6');
  }
  const version = (ip[IPV6.versionClassFlow] ?? 0) >> 4;
  if (version !== 6) fail('FRAME_NOT_IPV6', `IP version ${version} in an IPv6 frame`, 'ipv6.version');
  const payloadLength = ip.readUInt16BE(IPV6.payloadLength);
  // Anything past the payload length is Ethernet padding, not part of the message.
  if (IPV6_HEADER_LENGTH + payloadLength > ip.length) {
    fail(
      'FRAME_TRUNCATED',
      `IPv6 payload length ${payloadLength} exceeds the ${ip.length - IPV6_HEADER_LENGTH} bytes present`,
      'ipv6.payloadLength',
    );
  }
  const nextHeader = ip.readUInt8(IPV6.nextHeader);
  if (nextHeader !== NEXT_HEADER_ICMPV6) {
    fail('NDP_NOT_ICMPV6', `next header ${nextHeader} is not ICMPv6 (58)`, 'ipv6.nextHeader');
  }
  const message = ip.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength);
  if (message.length === 0) fail('NDP_BAD_LENGTH', 'empty ICMPv6 message', 'icmpv6');
  const actualType = message.readUInt8(ICMP.type);
  if (actualType !== type) fail('NDP_WRONG_TYPE', `ICMPv6 type ${actualType} is not ${type}`, 'icmpv6.type');
  if (message.length < ICMP.options) {
    fail('NDP_BAD_LENGTH', `ICMPv6 length ${message.length} is under ${ICMP.options} bytes`, 'icmpv6');
  }
  const hopLimit = ip.readUInt8(IPV6.hopLimit);
  if (hopLimit !== NDP_HOP_LIMIT) {
    fail(
      'NDP_BAD_HOP_LIMIT',
      `hop limit ${hopLimit} is not ${NDP_HOP_LIMIT}: the packet was routed`,
      'ipv6.hopLimit',
    );
  }
  const code = message.readUInt8(ICMP.code);
  if (code !== 0) fail('NDP_BAD_CODE', `ICMPv6 code ${code} is not 0`, 'icmpv6.code');
  const sourceBytes = ip.subarray(IPV6.source, IPV6.source + 16);
  const destinationBytes = ip.subarray(IPV6.destination, IPV6.destination + 16);
  if (icmpv6Checksum(sourceBytes, destinationBytes, message) !== 0) {
    fail(
      'NDP_BAD_CHECKSUM',
      `checksum 0x${message.readUInt16BE(ICMP.checksum).toString(16)} is wrong`,
      'icmpv6.checksum',
    );
  }
  const source = readIpv6(ip, IPV6.source);
  // RFC 4291 §2.7: a multicast address is never a source; answering it would multicast our reply.
  if (isMulticast(source)) fail('NDP_BAD_SOURCE', 'the IPv6 source is a multicast address', 'ipv6.source');
  const target = readIpv6(message, ICMP.target);
  if (isMulticast(target)) fail('NDP_BAD_TARGET', 'the target is a multicast address', 'ndp.target');
  return {
    dstMac: ethernet.dst,
    srcMac: ethernet.src,
    source,
    destination: readIpv6(ip, IPV6.destination),
    flags: message.readUInt32BE(ICMP.flags),
    target,
    linkLayerAddress: findLinkLayerOption(message.subarray(ICMP.options), linkLayerOption),
  };
}

/**
 * Walks the options (§4.6) and returns the MAC of the first option of `wanted` type. Every option
 * is checked, because §7.1.1 discards the whole message for any zero-length option. Unknown types
 * are skipped (§4.3); a repeated link-layer option is ignored, as Linux's ndisc_parse_options() does.
 */
function findLinkLayerOption(options: Buffer, wanted: number): Buffer | undefined {
  let found: Buffer | undefined;
  for (let offset = 0, index = 0; offset < options.length; index++) {
    const path = `ndp.options[${index}]`;
    if (offset + 2 > options.length) fail('NDP_BAD_OPTION', 'an option header is cut off', path);
    const type = options.readUInt8(offset);
    const length = options.readUInt8(offset + 1) * OPTION_UNIT;
    if (length === 0) fail('NDP_BAD_OPTION', 'an option of length zero', path);
    if (offset + length > options.length) {
      fail(
        'NDP_BAD_OPTION',
        `option of ${length} bytes overruns the message by ${offset + length - options.length}`,
        path,
      );
    }
    if (type === wanted && !found) {
      if (length !== OPTION_UNIT) {
        fail(
          'NDP_BAD_OPTION',
          `a link-layer address option is ${OPTION_UNIT} bytes on Ethernet, got ${length}`,
          path,
        );
      }
      found = Buffer.from(options.subarray(offset + 2, offset + 2 + MAC_LENGTH));
    }
    offset += length;
  }
  return found;
}

function encodeNdp(
  fields: Pick<NeighborSolicitation, 'dstMac' | 'srcMac' | 'source' | 'destination' | 'target'>,
  type: number,
  flags: number,
  optionType: number,
  linkLayerAddress: Buffer | undefined,
): Buffer {
  requireIpv6(fields.source, 'ipv6.source');
  requireIpv6(fields.destination, 'ipv6.destination');
  requireIpv6(fields.target, 'ndp.target');
  if (isMulticast(fields.source))
    fail('FRAME_INVALID_FIELD', 'a multicast address is never a source', 'ipv6.source');
  if (isMulticast(fields.target))
    fail('FRAME_INVALID_FIELD', 'the target cannot be a multicast address', 'ndp.target');
  if (linkLayerAddress) requireMac(linkLayerAddress, 'ndp.options[0]');
  const messageLength = ICMP.options + (linkLayerAddress ? OPTION_UNIT : 0);
  const frame = allocFrame(fields.dstMac, fields.srcMac, ETHERTYPE_IPV6, IPV6_HEADER_LENGTH + messageLength);
  const ip = frame.subarray(ETHERNET_HEADER_LENGTH);
  // Version 6, traffic class 0, flow label 0: as Linux sends its own NDP.
  ip.writeUInt32BE(0x6000_0000, IPV6.versionClassFlow);
  ip.writeUInt16BE(messageLength, IPV6.payloadLength);
  ip.writeUInt8(NEXT_HEADER_ICMPV6, IPV6.nextHeader);
  ip.writeUInt8(NDP_HOP_LIMIT, IPV6.hopLimit);
  writeIp(fields.source, ip, IPV6.source);
  writeIp(fields.destination, ip, IPV6.destination);
  const message = ip.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + messageLength);
  message.writeUInt8(type, ICMP.type);
  message.writeUInt32BE(flags, ICMP.flags);
  writeIp(fields.target, message, ICMP.target);
  if (linkLayerAddress) {
    message.writeUInt8(optionType, ICMP.options);
    message.writeUInt8(1, ICMP.options + 1);
    linkLayerAddress.copy(message, ICMP.options + 2);
  }
  const checksum = icmpv6Checksum(
    ip.subarray(IPV6.source, IPV6.source + 16),
    ip.subarray(IPV6.destination, IPV6.destination + 16),
    message,
  );
  message.writeUInt16BE(checksum, ICMP.checksum);
  return frame;
}

function isMulticast(ip: IpAddress): boolean {
  return ip.value >> 120n === BigInt(MULTICAST_PREFIX_BYTE);
}

function isSolicitedNodeMulticast(ip: IpAddress): boolean {
  return ip.value >> 24n === SOLICITED_NODE_PREFIX >> 24n;
}

function requireIpv6(ip: IpAddress, field: string): void {
  if (ip.family !== 6)
    throw new MetallbError('FRAME_INVALID_FIELD', 'NDP carries IPv6 addresses only', field);
}

function fail(code: ErrorCode, message: string, path: string): never {
  throw new MetallbError(code, message, path);
}
