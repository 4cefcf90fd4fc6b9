/**
 * The BGP messages other than UPDATE (RFC 4271 §4, RFC 2918), the message dispatcher and the stream
 * splitter: commented byte fixtures, each decoded, encoded and round-tripped; real OPENs from FRR and
 * BIRD; and every error with its exact NOTIFICATION code, subcode and data.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../shared/ip/address.ts';
import { type Capability } from '../../speaker/bgp/wire/capabilities.ts';
import {
  BgpWireError,
  CEASE_SUBCODE,
  ERROR_CODE,
  HEADER_SUBCODE,
  OPEN_SUBCODE,
  UPDATE_SUBCODE,
} from '../../speaker/bgp/wire/errors.ts';
import { decodeHeader, encodeHeader, type Header } from '../../speaker/bgp/wire/header.ts';
import {
  decodeKeepalive,
  encodeKeepalive,
  KEEPALIVE,
  type Keepalive,
} from '../../speaker/bgp/wire/keepalive.ts';
import { decodeMessage, encodeMessage, type BgpMessage } from '../../speaker/bgp/wire/message.ts';
import { negotiate } from '../../speaker/bgp/wire/negotiation.ts';
import {
  cease,
  decodeNotification,
  describeNotification,
  encodeNotification,
  notificationFromError,
  shutdownCommunication,
  type Notification,
} from '../../speaker/bgp/wire/notification.ts';
import {
  AS_TRANS,
  decodeOpen,
  encodeOpen,
  makeOpen,
  openAsn,
  twoOctetAs,
  type Open,
} from '../../speaker/bgp/wire/open.ts';
import {
  decodeRouteRefresh,
  encodeRouteRefresh,
  type RouteRefresh,
} from '../../speaker/bgp/wire/route-refresh.ts';
import { MessageReader } from '../../speaker/bgp/wire/stream.ts';
import { BIRD_OPEN, END_OF_RIB_IPV6, FRR_OPEN, FRR_UPDATE_IPV4 } from '../fixtures/captured-bgp.ts';
import { testFixture, throwsCode } from '../harness/frame-fixtures.ts';
import { bgpMessage, throwsBgp } from '../harness/bgp-wire.ts';
import { hex } from '../harness/hex.ts';

const MARKER = 'ff'.repeat(16);
const OPTIONS = { fourOctetAs: true };
const ROUTER_ID = parseIp('10.78.0.1');

describe('BGP header (RFC 4271 §4.1)', () => {
  testFixture<Header>(
    'a KEEPALIVE header',
    { decode: decodeHeader, encode: encodeHeader },
    {
      object: { length: 19, type: 4 },
      bytes: hex(`${MARKER}  // marker: all ones
      00 13                 // length 19
      04                    // type KEEPALIVE`),
    },
  );

  it('refuses a marker that is not all ones: Connection Not Synchronized, no data', () =>
    throwsBgp(() => decodeHeader(hex(`${'ff'.repeat(15)} fe 00 13 04`)), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.CONNECTION_NOT_SYNCHRONIZED,
      data: '',
    }));

  for (const length of [0, 18, 4097, 0xffff]) {
    it(`refuses length ${length}: Bad Message Length with the length field as data`, () =>
      throwsBgp(() => decodeHeader(hex(`${MARKER} ${length.toString(16).padStart(4, '0')} 04`)), {
        code: ERROR_CODE.MESSAGE_HEADER,
        subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
        data: length.toString(16).padStart(4, '0'),
      }));
  }

  it('refuses to encode a message over 4096 bytes', () =>
    throwsCode(() => encodeHeader({ length: 4097, type: 2 }), 'BGP_ENCODE_INVALID', 'header.length'));
});

describe('KEEPALIVE (RFC 4271 §4.4)', () => {
  testFixture<Keepalive>(
    'a keepalive',
    { decode: decodeKeepalive, encode: encodeKeepalive },
    {
      object: KEEPALIVE,
      bytes: hex(`${MARKER} 00 13 04  // the header alone: 19 bytes, type 4`),
    },
  );

  it('refuses a KEEPALIVE with a body: Bad Message Length', () =>
    throwsBgp(() => decodeKeepalive(bgpMessage(4, hex('00'))), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '0014',
    }));
});

describe('NOTIFICATION (RFC 4271 §4.5)', () => {
  const codec = { decode: decodeNotification, encode: encodeNotification };

  testFixture<Notification>('Cease, Administrative Shutdown with a message (RFC 9003)', codec, {
    object: cease(CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN, 'maintenance'),
    bytes: hex(`${MARKER}
      00 21                 // length 33
      03                    // type NOTIFICATION
      06                    // error code 6: Cease
      02                    // subcode 2: Administrative Shutdown (RFC 4486)
      0b                    // Shutdown Communication length 11
      6d 61 69 6e 74 65 6e 61 6e 63 65   // "maintenance" in UTF-8`),
  });

  testFixture<Notification>('UPDATE Message Error, Attribute Flags Error with the attribute', codec, {
    object: { type: 'notification', errorCode: 3, errorSubcode: 4, data: hex('c0 01 01 00') },
    bytes: hex(`${MARKER}
      00 19                 // length 25
      03                    // type NOTIFICATION
      03 04                 // UPDATE Message Error / Attribute Flags Error
      c0 01 01 00           // data: an ORIGIN marked optional`),
  });

  testFixture<Notification>('Cease, Peer De-configured, no data', codec, {
    object: cease(CEASE_SUBCODE.PEER_DECONFIGURED, 'ignored: only subcodes 2 and 4 carry text'),
    bytes: hex(`${MARKER} 00 15 03  06 03  // Cease / Peer De-configured`),
  });

  it('refuses a NOTIFICATION without its two code octets', () =>
    throwsBgp(() => decodeNotification(bgpMessage(3, hex('06'))), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '0014',
    }));

  it('reads the shutdown message back, and names codes for logs', () => {
    const notification = cease(CEASE_SUBCODE.ADMINISTRATIVE_RESET, 'config changed');
    assert.equal(shutdownCommunication(notification), 'config changed');
    assert.equal(describeNotification(notification), 'Cease/ADMINISTRATIVE_RESET (6/4): "config changed"');
    assert.equal(
      describeNotification({ type: 'notification', errorCode: 3, errorSubcode: 11, data: Buffer.alloc(0) }),
      'UPDATE Message Error/MALFORMED_AS_PATH (3/11)',
    );
    assert.equal(
      describeNotification({ type: 'notification', errorCode: 99, errorSubcode: 1, data: Buffer.alloc(0) }),
      'error code 99 (99/1)',
    );
  });

  it('cuts a long shutdown message to 255 bytes without splitting a character', () => {
    const notification = cease(CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN, 'é'.repeat(200));
    assert.equal(notification.data[0], 254);
    assert.equal(shutdownCommunication(notification), 'é'.repeat(127));
  });

  it('ignores a malformed shutdown message instead of failing (RFC 9003)', () => {
    const bad = { type: 'notification', errorCode: 6, errorSubcode: 2 } as const;
    assert.equal(shutdownCommunication({ ...bad, data: hex('05 41') }), undefined);
    assert.equal(shutdownCommunication({ ...bad, data: hex('01 ff') }), undefined);
  });

  it('turns a decoding error into the NOTIFICATION it calls for', () => {
    const error = new BgpWireError(3, UPDATE_SUBCODE.INVALID_ORIGIN_ATTRIBUTE, 'x', {
      data: hex('40 01 01 07'),
    });
    assert.deepEqual(notificationFromError(error), {
      type: 'notification',
      errorCode: 3,
      errorSubcode: 6,
      data: hex('40 01 01 07'),
    });
    const huge = new BgpWireError(3, 5, 'x', { data: Buffer.alloc(5000) });
    assert.equal(encodeNotification(notificationFromError(huge)).length, 4096);
  });
});

describe('ROUTE-REFRESH (RFC 2918)', () => {
  testFixture<RouteRefresh>(
    'a request for IPv6 unicast',
    { decode: decodeRouteRefresh, encode: encodeRouteRefresh },
    {
      object: { type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 },
      bytes: hex(`${MARKER}
      00 17                 // length 23
      05                    // type ROUTE-REFRESH
      00 02                 // AFI 2: IPv6
      00                    // reserved (RFC 7313: subtype 0, a normal request)
      01                    // SAFI 1: unicast`),
    },
  );

  it('refuses a ROUTE-REFRESH with Outbound Route Filter entries: Bad Message Length', () =>
    throwsBgp(() => decodeRouteRefresh(bgpMessage(5, hex('00 01 00 01 40'))), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '0018',
    }));
});

describe('OPEN (RFC 4271 §4.2, RFC 5492)', () => {
  const codec = { decode: decodeOpen, encode: encodeOpen };

  const ours = makeOpen({
    asn: 4_200_000_001,
    holdTime: 90,
    bgpIdentifier: parseIp('10.77.0.5'),
    families: [4, 6],
    routeRefresh: true,
    gracefulRestart: {
      restarting: true,
      notification: false,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: false },
        { afi: 2, safi: 1, forwardingPreserved: false },
      ],
    },
  });
  testFixture<Open>('ours: a 4-octet AS, both families, route refresh, graceful restart', codec, {
    object: ours,
    bytes: hex(`${MARKER}
      00 47                 // length 71
      01                    // type OPEN
      04                    // version 4
      5b a0                 // My AS: AS_TRANS (23456), since 4200000001 needs 4 octets
      00 5a                 // hold time 90 s
      0a 4d 00 05           // BGP Identifier 10.77.0.5
      2a                    // optional parameters length 42
      02 06 01 04 00 01 00 01        // multiprotocol IPv4 unicast
      02 06 01 04 00 02 00 01        // multiprotocol IPv6 unicast
      02 02 02 00                    // route refresh
      02 0c 40 0a 80 78              // graceful restart: R bit, restart time 120 s
            00 01 01 00 00 02 01 00  //   IPv4 and IPv6 unicast, forwarding not preserved
      02 06 41 04 fa 56 ea 01        // 4-octet AS 4200000001`),
  });

  const frr: Open = {
    type: 'open',
    version: 4,
    myAs: AS_TRANS,
    holdTime: 180,
    bgpIdentifier: ROUTER_ID,
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'unknown', code: 128, value: Buffer.alloc(0) },
      { kind: 'routeRefresh' },
      { kind: 'unknown', code: 70, value: Buffer.alloc(0) },
      { kind: 'fourOctetAs', asn: 4_200_000_001 },
      { kind: 'unknown', code: 6, value: Buffer.alloc(0) },
      { kind: 'unknown', code: 69, value: hex('00 01 01 01 00 02 01 01') },
      { kind: 'unknown', code: 73, value: Buffer.from('\x07capture\x00', 'latin1') },
      { kind: 'gracefulRestart', restarting: true, notification: true, restartTime: 120, families: [] },
      { kind: 'unknown', code: 71, value: hex('00 01 01 80 00 00 00  00 02 01 80 00 00 00') },
    ],
  };
  // FRR also puts one capability per parameter, so even the unknown ones re-encode byte for byte.
  testFixture<Open>('captured from FRR 8.4', codec, { object: frr, bytes: FRR_OPEN });

  testFixture<Open>('captured from BIRD 2.0 (all capabilities in one parameter)', codec, {
    object: {
      type: 'open',
      version: 4,
      myAs: 64512,
      holdTime: 240,
      bgpIdentifier: ROUTER_ID,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'routeRefresh' },
        { kind: 'gracefulRestart', restarting: false, notification: false, restartTime: 120, families: [] },
        { kind: 'fourOctetAs', asn: 64512 },
        { kind: 'unknown', code: 70, value: Buffer.alloc(0) },
        { kind: 'unknown', code: 71, value: Buffer.alloc(0) },
      ],
    },
    wire: BIRD_OPEN,
    bytes: hex(`${MARKER}
      00 47 01 04 fc 00 00 f0 0a 4e 00 01
      2a                    // optional parameters length 42: one capability per parameter
      02 06 01 04 00 01 00 01
      02 06 01 04 00 02 00 01
      02 02 02 00
      02 04 40 02 00 78
      02 06 41 04 00 00 fc 00
      02 02 46 00
      02 02 47 00`),
  });

  testFixture<Open>('extended optional parameters (RFC 9072) are read, and written only when needed', codec, {
    object: {
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 180,
      bgpIdentifier: parseIp('10.77.0.5'),
      capabilities: [{ kind: 'routeRefresh' }],
    },
    wire: hex(`${MARKER}
      00 25 01 04 fd e8 00 b4 0a 4d 00 05
      ff                    // optional parameters length 255 ...
      ff 00 05              // ... and type 255: extended, 5 bytes of parameters
      02 00 02  02 00       // Capabilities, 2-octet length 2: route refresh`),
    bytes: hex(`${MARKER} 00 21 01 04 fd e8 00 b4 0a 4d 00 05  04  02 02 02 00`),
  });

  it('uses the extended form when capabilities exceed 255 bytes, and reads it back', () => {
    const capabilities: Capability[] = [0xd0, 0xd1, 0xd2].map((code) => ({
      kind: 'unknown',
      code,
      value: Buffer.alloc(100, code),
    }));
    const open: Open = { ...ours, capabilities };
    const bytes = encodeOpen(open);
    assert.equal(bytes[28], 255, 'Non-Ext OP Len');
    assert.equal(bytes[29], 255, 'Non-Ext OP Type');
    assert.equal(bytes.readUInt16BE(30), 3 * (3 + 2 + 100));
    assert.deepEqual(decodeOpen(bytes), open);
  });

  it('finds the real AS: the 4-octet capability, else the 2-octet field', () => {
    assert.equal(openAsn(decodeOpen(FRR_OPEN)), 4_200_000_001);
    assert.equal(openAsn(decodeOpen(BIRD_OPEN)), 64512);
    assert.equal(openAsn({ ...ours, myAs: 65001, capabilities: [] }), 65001);
    assert.equal(twoOctetAs(65535), 65535);
    assert.equal(twoOctetAs(65536), AS_TRANS);
    assert.equal(makeOpen({ ...ours, asn: 64512, families: [4] }).myAs, 64512);
  });

  const open = (bytes: string): Buffer => bgpMessage(1, hex(bytes));
  const errors: [string, Buffer, number, string | undefined][] = [
    [
      'version 3: Unsupported Version Number, data = our version',
      open('03 fd e8 00 b4 0a 4d 00 05 00'),
      1,
      '0004',
    ],
    ['AS 0 (RFC 7607)', open('04 00 00 00 b4 0a 4d 00 05 00'), 2, ''],
    ['4-octet AS capability with AS 0', open('04 5b a0 00 b4 0a 4d 00 05 08 02 06 41 04 00 00 00 00'), 2, ''],
    ['BGP Identifier 0.0.0.0', open('04 fd e8 00 b4 00 00 00 00 00'), 3, ''],
    ['optional parameter type 1 (Authentication)', open('04 fd e8 00 b4 0a 4d 00 05 04 01 02 00 00'), 4, ''],
    ['hold time 1 s', open('04 fd e8 00 01 0a 4d 00 05 00'), 6, ''],
    ['hold time 2 s', open('04 fd e8 00 02 0a 4d 00 05 00'), 6, ''],
    ['parameters shorter than declared', open('04 fd e8 00 b4 0a 4d 00 05 05 02 02 02 00'), 0, ''],
    ['parameters longer than declared', open('04 fd e8 00 b4 0a 4d 00 05 03 02 02 02 00'), 0, ''],
    ['a capability overrunning its parameter', open('04 fd e8 00 b4 0a 4d 00 05 04 02 02 02 05'), 0, ''],
    [
      'a multiprotocol capability of 3 bytes',
      open('04 fd e8 00 b4 0a 4d 00 05 07 02 05 01 03 00 01 00'),
      0,
      '',
    ],
    ['a route refresh capability with a value', open('04 fd e8 00 b4 0a 4d 00 05 05 02 03 02 01 00'), 0, ''],
    [
      'a graceful restart capability of 5 bytes',
      open('04 fd e8 00 b4 0a 4d 00 05 09 02 07 40 05 00 78 00 01 01'),
      0,
      '',
    ],
    ['a truncated extended parameters length', open('04 fd e8 00 b4 0a 4d 00 05 ff ff 00'), 0, ''],
  ];
  for (const [name, message, subcode, data] of errors) {
    it(`refuses ${name}: OPEN Message Error ${subcode}`, () =>
      throwsBgp(() => decodeOpen(message), {
        code: ERROR_CODE.OPEN_MESSAGE,
        subcode,
        data,
        handling: 'session-reset',
      }));
  }

  it('refuses an OPEN shorter than 29 bytes: Bad Message Length', () =>
    throwsBgp(() => decodeOpen(open('04 fd e8 00 b4 0a 4d 00 05')), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '001c',
    }));

  it('knows the OPEN subcodes it exports', () => {
    assert.deepEqual(
      [
        OPEN_SUBCODE.UNSUPPORTED_VERSION_NUMBER,
        OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME,
        OPEN_SUBCODE.UNSUPPORTED_CAPABILITY,
      ],
      [1, 6, 7],
    );
  });

  it('refuses to encode a known capability as unknown, or a 256-byte capability', () => {
    throwsCode(
      () => encodeOpen({ ...ours, capabilities: [{ kind: 'unknown', code: 65, value: Buffer.alloc(4) }] }),
      'BGP_ENCODE_INVALID',
      'open.capabilities[0].code',
    );
    throwsCode(
      () => encodeOpen({ ...ours, capabilities: [{ kind: 'unknown', code: 99, value: Buffer.alloc(256) }] }),
      'BGP_ENCODE_INVALID',
      'open.capabilities[0]',
    );
  });
});

describe('negotiation (RFC 5492 §3)', () => {
  it('FRR as the local side and BIRD as the remote one', () => {
    const negotiated = negotiate(decodeOpen(FRR_OPEN), decodeOpen(BIRD_OPEN));
    assert.deepEqual(negotiated, {
      options: { fourOctetAs: true },
      holdTime: 180,
      keepaliveTime: 60,
      families: [4, 6],
      routeRefresh: true,
      peerGracefulRestart: {
        kind: 'gracefulRestart',
        restarting: false,
        notification: false,
        restartTime: 120,
        families: [],
      },
      peerAsn: 64512,
    });
  });

  it('a peer with no capabilities at all: 2-octet AS, IPv4 only, nothing else', () => {
    const ours = makeOpen({
      asn: 64512,
      holdTime: 9,
      bgpIdentifier: ROUTER_ID,
      families: [4, 6],
      routeRefresh: true,
    });
    const old: Open = {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 0,
      bgpIdentifier: ROUTER_ID,
      capabilities: [],
    };
    assert.deepEqual(negotiate(ours, old), {
      options: { fourOctetAs: false },
      holdTime: 0,
      keepaliveTime: 0,
      families: [4],
      routeRefresh: false,
      peerGracefulRestart: undefined,
      peerAsn: 65001,
    });
  });

  it('only families both sides advertised', () => {
    const v6 = makeOpen({ asn: 64512, holdTime: 90, bgpIdentifier: ROUTER_ID, families: [6] });
    assert.deepEqual(negotiate(v6, decodeOpen(BIRD_OPEN)).families, [6]);
  });
});

describe('decodeMessage and encodeMessage', () => {
  const messages: BgpMessage[] = [
    decodeOpen(FRR_OPEN),
    KEEPALIVE,
    cease(CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN, 'bye'),
    { type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 },
    decodeMessage(FRR_UPDATE_IPV4, OPTIONS),
    decodeMessage(END_OF_RIB_IPV6, OPTIONS),
  ];
  for (const message of messages) {
    it(`round-trips a ${message.type}`, () =>
      assert.deepEqual(decodeMessage(encodeMessage(message, OPTIONS), OPTIONS), message));
  }

  it('refuses message type 6: Bad Message Type with the type as data', () =>
    throwsBgp(() => decodeMessage(bgpMessage(6, Buffer.alloc(0)), OPTIONS), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_TYPE,
      data: '06',
    }));

  it('refuses a buffer longer than the length field says', () =>
    throwsBgp(() => decodeMessage(Buffer.concat([encodeKeepalive(), hex('00')]), OPTIONS), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '0013',
    }));
});

describe('MessageReader', () => {
  const stream = Buffer.concat([FRR_OPEN, encodeKeepalive(), FRR_UPDATE_IPV4, END_OF_RIB_IPV6]);
  const expected = [FRR_OPEN, encodeKeepalive(), FRR_UPDATE_IPV4, END_OF_RIB_IPV6].map((b) =>
    b.toString('hex'),
  );

  it('splits one chunk holding several messages', () => {
    const reader = new MessageReader();
    assert.deepEqual(
      reader.push(stream).map((m) => m.toString('hex')),
      expected,
    );
    assert.equal(reader.buffered, 0);
  });

  it('reassembles messages fed one byte at a time', () => {
    const reader = new MessageReader();
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...reader.push(Buffer.from([byte])));
    assert.deepEqual(
      out.map((m) => m.toString('hex')),
      expected,
    );
  });

  it('holds back a partial message', () => {
    const reader = new MessageReader();
    assert.equal(reader.push(stream.subarray(0, FRR_OPEN.length + 5)).length, 1);
    assert.equal(reader.buffered, 5);
  });

  it('reports a bad marker at its first byte, without waiting for the header', () => {
    const reader = new MessageReader();
    throwsBgp(() => reader.push(hex('ff ff 00')), {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.CONNECTION_NOT_SYNCHRONIZED,
    });
  });

  it('reports a bad length as soon as the length field is complete, and stays failed', () => {
    const reader = new MessageReader();
    assert.deepEqual(reader.push(encodeKeepalive()).length, 1);
    const push = (): unknown => reader.push(hex(`${MARKER} 10 01`));
    throwsBgp(push, {
      code: ERROR_CODE.MESSAGE_HEADER,
      subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      data: '1001',
    });
    let first: unknown;
    try {
      push();
    } catch (error) {
      first = error;
    }
    assert.throws(
      () => reader.push(encodeKeepalive()),
      (again) => again === first,
    );
  });
});
