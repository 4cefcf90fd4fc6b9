import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../shared/errors.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { arpReply, decodeArp, encodeArp, gratuitousArp, type ArpFrame } from '../../speaker/layer2/arp.ts';
import { broadcastMac, parseMac } from '../../speaker/layer2/mac.ts';
import { ARPING_REQUEST, LINUX_ARP_REPLY, LINUX_NEIGHBOR_SOLICITATION } from '../fixtures/captured-frames.ts';
import { padded, testFixture, throwsCode } from '../harness/frame-fixtures.ts';
import { hex } from '../harness/hex.ts';

const arp = { decode: decodeArp, encode: encodeArp };
const REQUESTER = parseMac('02:00:5e:77:00:01');
const ANSWERER = parseMac('02:00:5e:77:00:02');
const ZERO_MAC = Buffer.alloc(6);
const VIP = parseIp('10.77.0.99');

const GRATUITOUS_REQUEST = hex(`
  ff ff ff ff ff ff    // Ethernet destination: broadcast
  02 00 5e 77 00 02    // Ethernet source: the new owner
  08 06                // ethertype: ARP
  00 01 08 00 06 04    // Ethernet, IPv4, 6-byte MACs, 4-byte addresses
  00 01                // operation: request
  02 00 5e 77 00 02    // sender MAC: the new owner
  0a 4d 00 63          // sender IP: the VIP
  00 00 00 00 00 00    // target MAC: zero (RFC 5227 §3)
  0a 4d 00 63          // target IP: the VIP again
  ${'00'.repeat(18)}   // padding to 60 bytes (RFC 894)
`);

const GRATUITOUS_REPLY = hex(`
  ff ff ff ff ff ff    // Ethernet destination: broadcast
  02 00 5e 77 00 02    // Ethernet source: the new owner
  08 06                // ethertype: ARP
  00 01 08 00 06 04    // Ethernet, IPv4, 6-byte MACs, 4-byte addresses
  00 02                // operation: reply
  02 00 5e 77 00 02    // sender MAC: the new owner
  0a 4d 00 63          // sender IP: the VIP
  02 00 5e 77 00 02    // target MAC: the sender's again (RFC 2002 §4.6), what Linux needs to see a GARP
  0a 4d 00 63          // target IP: the VIP again
  ${'00'.repeat(18)}   // padding to 60 bytes (RFC 894)
`);

describe('ARP (RFC 826)', () => {
  testFixture<ArpFrame>('a captured request (arping, padded to 58)', arp, {
    object: {
      dstMac: broadcastMac(),
      srcMac: REQUESTER,
      operation: 'request',
      senderMac: REQUESTER,
      senderIp: parseIp('10.77.0.1'),
      targetMac: ZERO_MAC,
      targetIp: VIP,
    },
    wire: ARPING_REQUEST,
    bytes: padded(ARPING_REQUEST),
  });

  testFixture<ArpFrame>('a captured reply (Linux, unpadded 42 bytes)', arp, {
    object: {
      dstMac: REQUESTER,
      srcMac: ANSWERER,
      operation: 'reply',
      senderMac: ANSWERER,
      senderIp: VIP,
      targetMac: REQUESTER,
      targetIp: parseIp('10.77.0.1'),
    },
    wire: LINUX_ARP_REPLY,
    bytes: padded(LINUX_ARP_REPLY),
  });

  const gratuitous = {
    dstMac: broadcastMac(),
    srcMac: ANSWERER,
    senderMac: ANSWERER,
    senderIp: VIP,
    targetIp: VIP,
  };
  testFixture<ArpFrame>('a gratuitous request', arp, {
    object: { ...gratuitous, operation: 'request', targetMac: ZERO_MAC },
    bytes: GRATUITOUS_REQUEST,
  });
  testFixture<ArpFrame>('a gratuitous reply', arp, {
    object: { ...gratuitous, operation: 'reply', targetMac: ANSWERER },
    bytes: GRATUITOUS_REPLY,
  });

  it('arpReply answers a request as the Linux kernel does (plus padding)', () => {
    const request = decodeArp(ARPING_REQUEST);
    const reply = arpReply({
      srcMac: ANSWERER,
      dstMac: request.senderMac,
      senderIp: request.targetIp,
      targetMac: request.senderMac,
      targetIp: request.senderIp,
    });
    assert.equal(reply.toString('hex'), padded(LINUX_ARP_REPLY).toString('hex'));
  });

  it('gratuitousArp builds the broadcast request and reply for the VIP', () => {
    const [request, reply] = gratuitousArp({ mac: ANSWERER, ip: VIP });
    assert.equal(request.toString('hex'), GRATUITOUS_REQUEST.toString('hex'));
    assert.equal(reply.toString('hex'), GRATUITOUS_REPLY.toString('hex'));
  });

  describe('refuses', () => {
    const field = (offset: number, bytes: number[]): Buffer => {
      const frame = Buffer.from(ARPING_REQUEST);
      frame.set(bytes, 14 + offset);
      return frame;
    };
    const cases: [string, Buffer, ErrorCode, string][] = [
      ['an IPv6 frame', LINUX_NEIGHBOR_SOLICITATION, 'FRAME_NOT_ARP', 'ethernet.ethertype'],
      ['a truncated ARP packet', ARPING_REQUEST.subarray(0, 41), 'FRAME_TRUNCATED', 'arp'],
      ['a header alone', ARPING_REQUEST.subarray(0, 14), 'FRAME_TRUNCATED', 'arp'],
      ['hardware type IEEE 802 (6)', field(0, [0, 6]), 'ARP_UNSUPPORTED', 'arp.hardwareType'],
      ['protocol type IPv6', field(2, [0x86, 0xdd]), 'ARP_UNSUPPORTED', 'arp.protocolType'],
      ['8-byte hardware addresses', field(4, [8]), 'ARP_UNSUPPORTED', 'arp.hardwareLength'],
      ['16-byte protocol addresses', field(5, [16]), 'ARP_UNSUPPORTED', 'arp.protocolLength'],
      ['a RARP request (3)', field(6, [0, 3]), 'ARP_BAD_OPERATION', 'arp.operation'],
      ['an InARP request (8)', field(6, [0, 8]), 'ARP_BAD_OPERATION', 'arp.operation'],
      ['operation 0', field(6, [0, 0]), 'ARP_BAD_OPERATION', 'arp.operation'],
      [
        'a VLAN-tagged request',
        hex(`ffffffffffff 02005e770001 8100 0005 0806 ${'00'.repeat(28)}`),
        'FRAME_VLAN_TAGGED',
        'ethernet.ethertype',
      ],
    ];
    for (const [name, frame, code, path] of cases) {
      it(name, () => throwsCode(() => decodeArp(frame), code, path));
    }
  });

  it('refuses to encode IPv6 addresses or short MACs', () => {
    const reply = { srcMac: ANSWERER, dstMac: REQUESTER, senderIp: VIP, targetMac: REQUESTER, targetIp: VIP };
    throwsCode(
      () => arpReply({ ...reply, senderIp: parseIp('fd00:77::99') }),
      'FRAME_INVALID_FIELD',
      'arp.senderIp',
    );
    throwsCode(() => arpReply({ ...reply, targetMac: Buffer.alloc(5) }), 'MAC_INVALID', 'arp.targetMac');
    throwsCode(() => arpReply({ ...reply, dstMac: Buffer.alloc(7) }), 'MAC_INVALID', 'ethernet.dst');
  });
});
