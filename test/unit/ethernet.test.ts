import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../shared/ip/address.ts';
import { decodeEthernet, encodeEthernet, type EthernetFrame } from '../../speaker/layer2/ethernet.ts';
import { ipFromBytes, ipToBytes } from '../../speaker/layer2/ip-bytes.ts';
import { broadcastMac, formatMac, isMulticastMac, parseMac } from '../../speaker/layer2/mac.ts';
import { ARPING_REQUEST, LINUX_NEIGHBOR_SOLICITATION } from '../fixtures/captured-frames.ts';
import { testFixture, throwsCode } from '../harness/frame-fixtures.ts';
import { hex } from '../harness/hex.ts';

const ethernet = { decode: decodeEthernet, encode: encodeEthernet };

describe('Ethernet II (RFC 894)', () => {
  const udpPayload = Buffer.alloc(46, 0xab);
  testFixture<EthernetFrame>('an IPv4 frame of minimum size', ethernet, {
    object: {
      dst: parseMac('02:00:5e:77:00:02'),
      src: parseMac('02:00:5e:77:00:01'),
      ethertype: 0x0800,
      payload: udpPayload,
    },
    bytes: hex(`
      02 00 5e 77 00 02    // destination
      02 00 5e 77 00 01    // source
      08 00                // ethertype: IPv4
      ${udpPayload.toString('hex')}  // 46 bytes of payload: the minimum, no padding needed
    `),
  });

  testFixture<EthernetFrame>('a captured Neighbor Solicitation (Linux)', ethernet, {
    object: {
      dst: parseMac('33:33:ff:00:00:99'),
      src: parseMac('02:00:5e:77:00:01'),
      ethertype: 0x86dd,
      payload: LINUX_NEIGHBOR_SOLICITATION.subarray(14),
    },
    bytes: LINUX_NEIGHBOR_SOLICITATION,
  });

  it('keeps padding in the payload: Ethernet cannot tell it from data', () => {
    // arping pads its 42-byte request to 58; the ARP codec, not this one, knows where ARP ends.
    assert.equal(decodeEthernet(ARPING_REQUEST).payload.length, 44);
  });

  it('pads a short frame with zeros to 60 bytes', () => {
    const frame = encodeEthernet({
      dst: broadcastMac(),
      src: broadcastMac(),
      ethertype: 0x88b5,
      payload: Buffer.from([1]),
    });
    assert.equal(frame.toString('hex'), `${'ff'.repeat(12)}88b501${'00'.repeat(45)}`);
  });

  it('decodes MACs as copies, the payload as a view', () => {
    const bytes = Buffer.from(ARPING_REQUEST);
    const frame = decodeEthernet(bytes);
    bytes.fill(0);
    assert.equal(formatMac(frame.src), '02:00:5e:77:00:01');
    assert.equal(
      frame.payload.every((byte) => byte === 0),
      true,
    );
  });

  it('refuses a frame shorter than its header', () => {
    throwsCode(() => decodeEthernet(Buffer.alloc(13)), 'FRAME_TRUNCATED', 'ethernet');
  });
  it('refuses an 802.1Q-tagged frame', () => {
    const tagged = hex(`ffffffffffff 020000000001  81 00  00 05  08 06  ${'00'.repeat(28)}`);
    throwsCode(() => decodeEthernet(tagged), 'FRAME_VLAN_TAGGED', 'ethernet.ethertype');
  });
  it('refuses an 802.1ad (QinQ) frame', () => {
    throwsCode(
      () => decodeEthernet(hex(`ffffffffffff 020000000001 88 a8 ${'00'.repeat(46)}`)),
      'FRAME_VLAN_TAGGED',
    );
  });
  it('refuses an IEEE 802.3 frame (length, not ethertype)', () => {
    throwsCode(
      () => decodeEthernet(hex(`ffffffffffff 020000000001 00 2e ${'00'.repeat(46)}`)),
      'FRAME_NOT_ETHERNET_II',
    );
  });
  it('refuses to encode a bad MAC, a VLAN tag, or an out-of-range ethertype', () => {
    const frame = { dst: broadcastMac(), src: broadcastMac(), ethertype: 0x0800, payload: Buffer.alloc(0) };
    throwsCode(() => encodeEthernet({ ...frame, src: Buffer.alloc(5) }), 'MAC_INVALID', 'ethernet.src');
    throwsCode(() => encodeEthernet({ ...frame, ethertype: 0x8100 }), 'FRAME_INVALID_FIELD');
    throwsCode(() => encodeEthernet({ ...frame, ethertype: 0x10000 }), 'FRAME_INVALID_FIELD');
    throwsCode(() => encodeEthernet({ ...frame, ethertype: 1.5 }), 'FRAME_INVALID_FIELD');
    throwsCode(() => encodeEthernet({ ...frame, ethertype: 0x05dc }), 'FRAME_INVALID_FIELD');
  });
});

describe('MAC addresses', () => {
  it('parses and formats the colon form', () => {
    const mac = parseMac('02:00:5E:77:00:0A');
    assert.equal(mac.toString('hex'), '02005e77000a');
    assert.equal(formatMac(mac), '02:00:5e:77:00:0a');
  });
  for (const text of [
    '',
    '02:00:5e:77:00',
    '02:00:5e:77:00:0a:01',
    '02-00-5e-77-00-0a',
    '0200.5e77.000a',
    '2:0:5e:77:0:a',
  ]) {
    it(`refuses ${JSON.stringify(text)}`, () => throwsCode(() => parseMac(text), 'MAC_INVALID'));
  }
  it('refuses to format anything but 6 bytes', () =>
    throwsCode(() => formatMac(Buffer.alloc(8)), 'MAC_INVALID'));
  it('tells group addresses by the I/G bit', () => {
    assert.equal(isMulticastMac(parseMac('33:33:ff:00:00:99')), true);
    assert.equal(isMulticastMac(broadcastMac()), true);
    assert.equal(isMulticastMac(parseMac('02:00:5e:77:00:01')), false);
    assert.equal(isMulticastMac(Buffer.from([0x33])), false);
  });
});

describe('IP addresses as bytes', () => {
  for (const text of ['10.77.0.99', '0.0.0.0', '255.255.255.255', 'fd00:77::99', '::', 'ff02::1:ff00:99']) {
    it(`round trips ${text}`, () => assert.deepEqual(ipFromBytes(ipToBytes(parseIp(text))), parseIp(text)));
  }
  it('writes network byte order', () => {
    assert.equal(ipToBytes(parseIp('10.77.0.99')).toString('hex'), '0a4d0063');
    assert.equal(ipToBytes(parseIp('fd00:77::99')).toString('hex'), 'fd000077000000000000000000000099');
  });
  it('refuses lengths other than 4 and 16', () =>
    throwsCode(() => ipFromBytes(Buffer.alloc(6)), 'IP_INVALID'));
});
