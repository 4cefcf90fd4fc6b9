import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../shared/errors.ts';
import { formatIp, parseIp } from '../../shared/ip/address.ts';
import { icmpv6Checksum } from '../../speaker/layer2/icmpv6-checksum.ts';
import { formatMac, parseMac } from '../../speaker/layer2/mac.ts';
import {
  ALL_NODES,
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  ipv6MulticastMac,
  solicitedNeighborAdvertisement,
  solicitedNodeMulticast,
  solicitedNodeMulticastMac,
  unsolicitedNeighborAdvertisement,
  type NeighborAdvertisement,
  type NeighborSolicitation,
} from '../../speaker/layer2/ndp.ts';
import {
  ARPING_REQUEST,
  LINUX_NEIGHBOR_ADVERTISEMENT,
  LINUX_NEIGHBOR_ADVERTISEMENT_TO_LINK_LOCAL,
  LINUX_NEIGHBOR_SOLICITATION,
  NDISC6_NEIGHBOR_SOLICITATION,
} from '../fixtures/captured-frames.ts';
import { testFixture, throwsCode } from '../harness/frame-fixtures.ts';
import { hex } from '../harness/hex.ts';

const ns = { decode: decodeNeighborSolicitation, encode: encodeNeighborSolicitation };
const na = { decode: decodeNeighborAdvertisement, encode: encodeNeighborAdvertisement };
const SOLICITOR = parseMac('02:00:5e:77:00:01');
const OWNER = parseMac('02:00:5e:77:00:02');
const VIP = parseIp('fd00:77::99');
const VIP_GROUP = parseIp('ff02::1:ff00:99');

/** A Duplicate Address Detection probe for the VIP (RFC 4862 §5.4.2). Checksum by an independent script. */
const DAD_SOLICITATION = hex(`
  33 33 ff 00 00 99         // Ethernet destination: the VIP's solicited-node group
  02 00 5e 77 00 01         // Ethernet source
  86 dd                     // ethertype: IPv6
  60 00 00 00               // version 6, traffic class 0, flow label 0
  00 18                     // payload length 24: no options
  3a ff                     // next header ICMPv6, hop limit 255
  00 00 00 00 00 00 00 00   // source :: (the prober has no address yet)
  00 00 00 00 00 00 00 00
  ff 02 00 00 00 00 00 00   // destination ff02::1:ff00:99
  00 00 00 01 ff 00 00 99
  87 00                     // type 135 (Neighbor Solicitation), code 0
  7b fe                     // checksum
  00 00 00 00               // reserved
  fd 00 00 77 00 00 00 00   // target fd00:77::99
  00 00 00 00 00 00 00 99
`);

/** The gratuitous NA for the VIP: to all nodes, S=0 O=1. Checksum by an independent script. */
const UNSOLICITED_ADVERTISEMENT = hex(`
  33 33 00 00 00 01         // Ethernet destination: all nodes (33:33 + 00:00:00:01)
  02 00 5e 77 00 02         // Ethernet source: the owner
  86 dd                     // ethertype: IPv6
  60 00 00 00               // version 6, traffic class 0, flow label 0
  00 20                     // payload length 32
  3a ff                     // next header ICMPv6, hop limit 255
  fd 00 00 77 00 00 00 00   // source: the VIP itself
  00 00 00 00 00 00 00 99
  ff 02 00 00 00 00 00 00   // destination ff02::1
  00 00 00 00 00 00 00 01
  88 00                     // type 136 (Neighbor Advertisement), code 0
  fa 04                     // checksum
  20 00 00 00               // flags R=0 S=0 O=1
  fd 00 00 77 00 00 00 00   // target fd00:77::99
  00 00 00 00 00 00 00 99
  02 01 02 00 5e 77 00 02   // option: target link-layer address, the owner's MAC
`);

/** Offsets into a frame: IPv6 header at 14, ICMPv6 message at 54. */
const AT = { payloadLength: 18, nextHeader: 20, hopLimit: 21, source: 22, icmp: 54, code: 55, checksum: 56 };
const AT_TARGET = AT.icmp + 8;
const AT_OPTIONS = AT.icmp + 24;

/** A copy of `frame` with `bytes` written at `offset` and the ICMPv6 checksum made valid again. */
function edit(frame: Buffer, offset: number, bytes: number[], fixChecksum = true): Buffer {
  const copy = Buffer.from(frame);
  copy.set(bytes, offset);
  return fixChecksum ? withChecksum(copy) : copy;
}

function withChecksum(frame: Buffer): Buffer {
  const end = Math.min(frame.length, AT.icmp + frame.readUInt16BE(AT.payloadLength));
  const message = frame.subarray(AT.icmp, end);
  message.writeUInt16BE(0, 2);
  message.writeUInt16BE(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), 2);
  return frame;
}

/** `frame` with its ICMPv6 message extended by `option` (and the payload length to match). */
function withOption(frame: Buffer, option: number[]): Buffer {
  const longer = Buffer.concat([frame, Buffer.from(option)]);
  longer.writeUInt16BE(longer.readUInt16BE(AT.payloadLength) + option.length, AT.payloadLength);
  return withChecksum(longer);
}

describe('Neighbor Solicitation (RFC 4861 §4.3, §7.1.1)', () => {
  const linux: NeighborSolicitation = {
    dstMac: parseMac('33:33:ff:00:00:99'),
    srcMac: SOLICITOR,
    source: parseIp('fd00:77::1'),
    destination: VIP_GROUP,
    target: VIP,
    sourceLinkLayerAddress: SOLICITOR,
  };
  testFixture('a captured solicitation (Linux, ping -6)', ns, {
    object: linux,
    bytes: LINUX_NEIGHBOR_SOLICITATION,
  });

  // The flow label is not decoded, so it is re-encoded as zero; nothing else changes.
  testFixture('a captured solicitation (ndisc6, from link-local, with a flow label)', ns, {
    object: { ...linux, source: parseIp('fe80::5eff:fe77:1') },
    wire: NDISC6_NEIGHBOR_SOLICITATION,
    bytes: edit(NDISC6_NEIGHBOR_SOLICITATION, 15, [0, 0, 0], false),
  });

  testFixture('a DAD probe (from ::, no option)', ns, {
    object: {
      dstMac: parseMac('33:33:ff:00:00:99'),
      srcMac: SOLICITOR,
      source: parseIp('::'),
      destination: VIP_GROUP,
      target: VIP,
    },
    bytes: DAD_SOLICITATION,
  });

  it('skips unknown options and keeps the first link-layer address', () => {
    const nonce = [14, 1, 1, 2, 3, 4, 5, 6]; // RFC 3971 Nonce option: not ours, skipped
    const second = [1, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
    const decoded = decodeNeighborSolicitation(
      withOption(withOption(LINUX_NEIGHBOR_SOLICITATION, nonce), second),
    );
    assert.equal(formatMac(decoded.sourceLinkLayerAddress!), '02:00:5e:77:00:01');
  });

  it('ignores a target link-layer option in a solicitation', () => {
    const decoded = decodeNeighborSolicitation(withOption(DAD_SOLICITATION, [2, 1, 1, 2, 3, 4, 5, 6]));
    assert.equal(decoded.sourceLinkLayerAddress, undefined);
  });

  it('ignores Ethernet padding after the IPv6 payload', () => {
    const padded = Buffer.concat([LINUX_NEIGHBOR_SOLICITATION, Buffer.alloc(10, 0xee)]);
    assert.deepEqual(decodeNeighborSolicitation(padded), linux);
  });

  it('accepts 0xffff for a computed checksum of 0 (ones-complement zero, RFC 1071)', () => {
    // With the MAC's last word zero the checksum is C; putting C in that word makes the sum 0xffff
    // and the checksum 0. A sender may transmit that as 0xffff, the other zero.
    const zeroed = edit(LINUX_NEIGHBOR_SOLICITATION, AT_OPTIONS + 6, [0, 0]);
    const c = zeroed.readUInt16BE(AT.checksum);
    const frame = edit(zeroed, AT_OPTIONS + 6, [c >> 8, c & 0xff]);
    assert.equal(frame.readUInt16BE(AT.checksum), 0);
    frame.writeUInt16BE(0xffff, AT.checksum);
    assert.equal(decodeNeighborSolicitation(frame).target.value, VIP.value);
  });

  describe('refuses', () => {
    const NS = LINUX_NEIGHBOR_SOLICITATION;
    const cases: [string, Buffer, ErrorCode, string][] = [
      ['an ARP frame', ARPING_REQUEST, 'FRAME_NOT_IPV6', 'ethernet.ethertype'],
      [
        'IP version 4 inside an IPv6 ethertype',
        edit(NS, 14, [0x45], false),
        'FRAME_NOT_IPV6',
        'ipv6.version',
      ],
      ['a truncated IPv6 header', NS.subarray(0, 53), 'FRAME_TRUNCATED', 'ipv6'],
      [
        'a payload length beyond the frame',
        edit(NS, AT.payloadLength, [0, 33], false),
        'FRAME_TRUNCATED',
        'ipv6.payloadLength',
      ],
      [
        'a hop-by-hop header before ICMPv6',
        edit(NS, AT.nextHeader, [0], false),
        'NDP_NOT_ICMPV6',
        'ipv6.nextHeader',
      ],
      ['an echo request', edit(NS, AT.icmp, [128]), 'NDP_WRONG_TYPE', 'icmpv6.type'],
      ['an advertisement', LINUX_NEIGHBOR_ADVERTISEMENT, 'NDP_WRONG_TYPE', 'icmpv6.type'],
      ['an empty ICMPv6 message', edit(NS, AT.payloadLength, [0, 0], false), 'NDP_BAD_LENGTH', 'icmpv6'],
      ['an ICMPv6 length under 24', edit(NS, AT.payloadLength, [0, 23]), 'NDP_BAD_LENGTH', 'icmpv6'],
      ['hop limit 254 (routed)', edit(NS, AT.hopLimit, [254], false), 'NDP_BAD_HOP_LIMIT', 'ipv6.hopLimit'],
      ['ICMPv6 code 1', edit(NS, AT.code, [1]), 'NDP_BAD_CODE', 'icmpv6.code'],
      ['a wrong checksum', edit(NS, AT.checksum, [0x1d, 0x05], false), 'NDP_BAD_CHECKSUM', 'icmpv6.checksum'],
      [
        'a changed target under the old checksum',
        edit(NS, AT_TARGET + 15, [0x98], false),
        'NDP_BAD_CHECKSUM',
        'icmpv6.checksum',
      ],
      ['a multicast target', edit(NS, AT_TARGET, [0xff, 0x02]), 'NDP_BAD_TARGET', 'ndp.target'],
      ['a multicast source', edit(NS, AT.source, [0xff, 0x02]), 'NDP_BAD_SOURCE', 'ipv6.source'],
      ['an option of length zero', edit(NS, AT_OPTIONS + 1, [0]), 'NDP_BAD_OPTION', 'ndp.options[0]'],
      [
        'an option overrunning the message',
        edit(NS, AT_OPTIONS + 1, [2]),
        'NDP_BAD_OPTION',
        'ndp.options[0]',
      ],
      ['a cut-off option header', withOption(NS, [1]), 'NDP_BAD_OPTION', 'ndp.options[1]'],
      [
        'a 16-byte source link-layer option',
        withOption(edit(NS, AT_OPTIONS + 1, [2], false), [0, 0, 0, 0, 0, 0, 0, 0]),
        'NDP_BAD_OPTION',
        'ndp.options[0]',
      ],
      ['a zero-length unknown option', withOption(NS, [14, 0]), 'NDP_BAD_OPTION', 'ndp.options[1]'],
      [
        'a DAD probe with a link-layer option',
        withOption(DAD_SOLICITATION, [1, 1, 2, 0, 0x5e, 0x77, 0, 1]),
        'NDP_BAD_DAD',
        'ndp.options',
      ],
      [
        'a DAD probe to a unicast address',
        edit(DAD_SOLICITATION, 38, [0xfd, 0x00, 0x00, 0x77]),
        'NDP_BAD_DAD',
        'ipv6.destination',
      ],
    ];
    for (const [name, frame, code, path] of cases) {
      it(name, () => throwsCode(() => decodeNeighborSolicitation(frame), code, path));
    }
  });

  it('refuses to encode what it would refuse to decode', () => {
    throwsCode(
      () => encodeNeighborSolicitation({ ...linux, target: parseIp('10.77.0.99') }),
      'FRAME_INVALID_FIELD',
      'ndp.target',
    );
    throwsCode(
      () => encodeNeighborSolicitation({ ...linux, target: VIP_GROUP }),
      'FRAME_INVALID_FIELD',
      'ndp.target',
    );
    throwsCode(
      () => encodeNeighborSolicitation({ ...linux, source: ALL_NODES }),
      'FRAME_INVALID_FIELD',
      'ipv6.source',
    );
    throwsCode(
      () => encodeNeighborSolicitation({ ...linux, source: parseIp('::') }),
      'FRAME_INVALID_FIELD',
      'ipv6.source',
    );
    throwsCode(
      () => encodeNeighborSolicitation({ ...linux, sourceLinkLayerAddress: Buffer.alloc(8) }),
      'MAC_INVALID',
    );
  });
});

describe('Neighbor Advertisement (RFC 4861 §4.4, §7.1.2)', () => {
  const linux: NeighborAdvertisement = {
    dstMac: SOLICITOR,
    srcMac: OWNER,
    source: VIP,
    destination: parseIp('fd00:77::1'),
    target: VIP,
    router: false,
    solicited: true,
    override: true,
    targetLinkLayerAddress: OWNER,
  };
  testFixture('a captured advertisement (Linux)', na, { object: linux, bytes: LINUX_NEIGHBOR_ADVERTISEMENT });
  testFixture('an unsolicited advertisement', na, {
    object: {
      dstMac: parseMac('33:33:00:00:00:01'),
      srcMac: OWNER,
      source: VIP,
      destination: ALL_NODES,
      target: VIP,
      router: false,
      solicited: false,
      override: true,
      targetLinkLayerAddress: OWNER,
    },
    bytes: UNSOLICITED_ADVERTISEMENT,
  });
  const withoutOption: NeighborAdvertisement = {
    dstMac: linux.dstMac,
    srcMac: linux.srcMac,
    source: linux.source,
    destination: linux.destination,
    target: linux.target,
    router: false,
    solicited: true,
    override: true,
  };
  testFixture('an advertisement with R, S and O set and no option', na, {
    object: { ...withoutOption, router: true },
    bytes: hex(`
      ${LINUX_NEIGHBOR_ADVERTISEMENT.subarray(0, 18).toString('hex')}  // Ethernet, IPv6 first word
      00 18                     // payload length 24: no option
      ${LINUX_NEIGHBOR_ADVERTISEMENT.subarray(20, 56).toString('hex')}  // next header .. code
      9e 11                     // checksum (by an independent script)
      e0 00 00 00               // flags R=1 S=1 O=1
      ${LINUX_NEIGHBOR_ADVERTISEMENT.subarray(62, 78).toString('hex')}  // target
    `),
  });

  it('refuses a solicited advertisement to a multicast group', () => {
    const toGroup = edit(UNSOLICITED_ADVERTISEMENT, AT.icmp + 4, [0x60]);
    throwsCode(() => decodeNeighborAdvertisement(toGroup), 'NDP_BAD_FLAGS', 'ndp.flags');
    throwsCode(
      () => encodeNeighborAdvertisement({ ...linux, destination: ALL_NODES }),
      'FRAME_INVALID_FIELD',
      'ndp.flags',
    );
  });

  it('refuses a 16-byte target link-layer option', () => {
    const frame = withOption(
      edit(LINUX_NEIGHBOR_ADVERTISEMENT, AT_OPTIONS + 1, [2], false),
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    throwsCode(() => decodeNeighborAdvertisement(frame), 'NDP_BAD_OPTION', 'ndp.options[0]');
  });
});

describe('answering solicitations', () => {
  it('answers a solicitation byte for byte as the Linux kernel does', () => {
    const solicitation = decodeNeighborSolicitation(LINUX_NEIGHBOR_SOLICITATION);
    const answer = solicitedNeighborAdvertisement({ mac: OWNER, solicitation });
    assert.equal(answer.toString('hex'), LINUX_NEIGHBOR_ADVERTISEMENT.toString('hex'));
  });

  it('answers a link-local solicitor from the target address, as Linux does', () => {
    const solicitation = decodeNeighborSolicitation(NDISC6_NEIGHBOR_SOLICITATION);
    const answer = solicitedNeighborAdvertisement({ mac: OWNER, solicitation });
    assert.equal(answer.toString('hex'), LINUX_NEIGHBOR_ADVERTISEMENT_TO_LINK_LOCAL.toString('hex'));
  });

  it('answers a DAD probe to all nodes with S=0 (§7.2.4)', () => {
    const solicitation = decodeNeighborSolicitation(DAD_SOLICITATION);
    const answer = solicitedNeighborAdvertisement({ mac: OWNER, solicitation });
    assert.equal(answer.toString('hex'), UNSOLICITED_ADVERTISEMENT.toString('hex'));
  });

  it('unicasts to the frame source when the solicitation has no link-layer option', () => {
    const solicitation: NeighborSolicitation = {
      dstMac: OWNER,
      srcMac: SOLICITOR,
      source: parseIp('fd00:77::1'),
      destination: VIP,
      target: VIP,
    };
    const answer = decodeNeighborAdvertisement(solicitedNeighborAdvertisement({ mac: OWNER, solicitation }));
    assert.equal(formatMac(answer.dstMac), '02:00:5e:77:00:01');
    assert.equal(formatIp(answer.destination), 'fd00:77::1');
    assert.equal(answer.solicited, true);
  });

  it('builds the unsolicited advertisement', () => {
    const frame = unsolicitedNeighborAdvertisement({ mac: OWNER, ip: VIP });
    assert.equal(frame.toString('hex'), UNSOLICITED_ADVERTISEMENT.toString('hex'));
  });
});

describe('IPv6 multicast mapping', () => {
  const groups: [string, string, string][] = [
    ['fd00:77::99', 'ff02::1:ff00:99', '33:33:ff:00:00:99'],
    ['2001:db8::1234:5678', 'ff02::1:ff34:5678', '33:33:ff:34:56:78'],
    ['fe80::5eff:fe77:1', 'ff02::1:ff77:1', '33:33:ff:77:00:01'],
    ['::', 'ff02::1:ff00:0', '33:33:ff:00:00:00'],
  ];
  for (const [ip, group, mac] of groups) {
    it(`${ip} solicits at ${group}, MAC ${mac}`, () => {
      assert.equal(formatIp(solicitedNodeMulticast(parseIp(ip))), group);
      assert.equal(formatMac(solicitedNodeMulticastMac(parseIp(ip))), mac);
    });
  }
  it('maps all nodes to 33:33:00:00:00:01', () =>
    assert.equal(formatMac(ipv6MulticastMac(ALL_NODES)), '33:33:00:00:00:01'));
  it('refuses non-multicast and IPv4 addresses', () => {
    throwsCode(() => ipv6MulticastMac(VIP), 'FRAME_INVALID_FIELD', 'group');
    throwsCode(() => solicitedNodeMulticast(parseIp('10.77.0.99')), 'FRAME_INVALID_FIELD', 'ip');
  });
});

describe('ICMPv6 checksum (RFC 4443 §2.3)', () => {
  for (const [name, frame] of [
    ['solicitation', LINUX_NEIGHBOR_SOLICITATION],
    ['advertisement', LINUX_NEIGHBOR_ADVERTISEMENT],
    ['ndisc6 solicitation', NDISC6_NEIGHBOR_SOLICITATION],
  ] as const) {
    it(`reproduces the kernel's checksum of a ${name} and verifies it as 0`, () => {
      const message = Buffer.from(frame.subarray(AT.icmp));
      assert.equal(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), 0);
      const sent = message.readUInt16BE(2);
      message.writeUInt16BE(0, 2);
      assert.equal(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), sent);
    });
  }
  it('pads an odd-length message with a zero byte (RFC 1071)', () => {
    // Expected value from an independent implementation (Python, struct + ipaddress).
    const [source, destination] = [parseIp('::1'), parseIp('::2')].map((ip) => {
      const bytes = Buffer.alloc(16);
      bytes.writeBigUInt64BE(ip.value, 8);
      return bytes;
    }) as [Buffer, Buffer];
    assert.equal(icmpv6Checksum(source, destination, Buffer.from([1, 2, 3])), 0xfbbd);
  });
});
