/**
 * UPDATE (RFC 4271 §4.3), its prefixes and every path attribute we interpret: commented byte
 * fixtures, each decoded, encoded and round-tripped; real UPDATEs from FRR; and every malformation
 * with the exact NOTIFICATION code, subcode and data (RFC 4271 §6.3) and RFC 7606 handling.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../shared/ip/address.ts';
import { FLAG } from '../../speaker/bgp/wire/attributes/attribute-codec.ts';
import {
  decodePathAttributes,
  encodePathAttribute,
  encodePathAttributes,
  type PathAttribute,
} from '../../speaker/bgp/wire/attributes/path-attributes.ts';
import { forwardUnknown, type UnknownAttribute } from '../../speaker/bgp/wire/attributes/unknown.ts';
import { endOfRib, endOfRibFamily } from '../../speaker/bgp/wire/end-of-rib.ts';
import {
  BgpWireError,
  ERROR_CODE,
  UPDATE_SUBCODE,
  type ErrorHandling,
} from '../../speaker/bgp/wire/errors.ts';
import {
  decodePrefixes,
  encodePrefixes,
  formatPrefix,
  parsePrefix,
  type Prefix,
} from '../../speaker/bgp/wire/prefix.ts';
import type { SessionOptions } from '../../speaker/bgp/wire/session-options.ts';
import { decodeUpdate, encodeUpdate, type Update } from '../../speaker/bgp/wire/update.ts';
import {
  END_OF_RIB_IPV4,
  END_OF_RIB_IPV6,
  FRR_UPDATE_IPV4,
  FRR_UPDATE_IPV6,
} from '../fixtures/captured-bgp.ts';
import { testFixture, throwsCode, type Codec } from '../harness/frame-fixtures.ts';
import { throwsBgp, updateMessage } from '../harness/bgp-wire.ts';
import { hex } from '../harness/hex.ts';

const FOUR: SessionOptions = { fourOctetAs: true };
const TWO: SessionOptions = { fourOctetAs: false };
const MARKER = 'ff'.repeat(16);
const p = parsePrefix;

describe('prefixes (RFC 4271 §4.3)', () => {
  const codec = (family: 4 | 6): Codec<Prefix[]> => ({
    decode: (bytes) =>
      decodePrefixes(bytes, family, (message) => new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, 10, message)),
    encode: encodePrefixes,
  });

  testFixture<Prefix[]>('IPv4: /8, /0, /32, /23', codec(4), {
    object: [p('10.0.0.0/8'), p('0.0.0.0/0'), p('10.77.0.99/32'), p('198.51.100.0/23')],
    bytes: hex(`
      08 0a                 // 10.0.0.0/8: one address byte
      00                    // 0.0.0.0/0: none
      20 0a 4d 00 63        // 10.77.0.99/32: four
      17 c6 33 64           // 198.51.100.0/23: three, the last bit of the third unused`),
  });

  testFixture<Prefix[]>('IPv6: /48, /128, /0', codec(6), {
    object: [p('2001:db8:1::/48'), p('2001:db8:77::99/128'), p('::/0')],
    bytes: hex(`
      30 20 01 0d b8 00 01  // 2001:db8:1::/48
      80 20 01 0d b8 00 77 00 00 00 00 00 00 00 00 00 99   // 2001:db8:77::99/128
      00                    // ::/0`),
  });

  testFixture<Prefix[]>('trailing bits are masked, not refused (RFC 4271 §4.3: "irrelevant")', codec(4), {
    object: [p('198.51.100.0/23')],
    wire: hex('17 c6 33 65  // 198.51.101.0/23: the host bit set'),
    bytes: hex('17 c6 33 64'),
  });

  it('refuses a /33 and a prefix running past the field', () => {
    throwsBgp(() => codec(4).decode(hex('21 0a 4d 00 63 00')), { code: 3, subcode: 10 });
    throwsBgp(() => codec(6).decode(hex('81 00')), { code: 3, subcode: 10 });
    throwsBgp(() => codec(4).decode(hex('18 0a 4d')), { code: 3, subcode: 10 });
  });

  it('parses and formats CIDR text, masking host bits as the config parser does', () => {
    assert.equal(formatPrefix(p('10.0.0.1/24')), '10.0.0.0/24');
    assert.equal(formatPrefix(p('2001:DB8::/32')), '2001:db8::/32');
    assert.deepEqual(p('10.77.0.99/32'), { family: 4, address: parseIp('10.77.0.99'), length: 32 });
    throwsCode(() => p('10.0.0.0'), 'IP_RANGE_INVALID');
    throwsCode(() => p('10.0.0.0/33'), 'IP_RANGE_INVALID');
    throwsCode(() => p('10.0.0.0/x'), 'IP_RANGE_INVALID');
    throwsCode(() => p('10.0.0/8'), 'IP_INVALID');
  });

  it('refuses to encode a prefix with host bits or a mismatched family', () => {
    throwsCode(
      () => encodePrefixes([{ ...p('10.0.0.0/8'), address: parseIp('10.0.0.1') }]),
      'BGP_ENCODE_INVALID',
    );
    throwsCode(() => encodePrefixes([{ ...p('10.0.0.0/8'), family: 6 }]), 'BGP_ENCODE_INVALID');
  });
});

/** One attribute as a codec: the bytes must decode to exactly one attribute and no error. */
function attributeCodec(options: SessionOptions): Codec<PathAttribute> {
  return {
    decode(bytes) {
      const { attributes, errors } = decodePathAttributes(bytes, options);
      assert.deepEqual(errors, []);
      assert.equal(attributes.length, 1);
      return attributes[0]!;
    },
    encode: (attribute) => encodePathAttribute(attribute, options),
  };
}

describe('path attributes', () => {
  const four = attributeCodec(FOUR);
  const two = attributeCodec(TWO);

  testFixture<PathAttribute>('ORIGIN IGP', four, {
    object: { kind: 'origin', origin: 'igp' },
    bytes: hex('40 01 01  00  // well-known transitive, type 1, length 1: IGP'),
  });
  testFixture<PathAttribute>('ORIGIN INCOMPLETE', four, {
    object: { kind: 'origin', origin: 'incomplete' },
    bytes: hex('40 01 01  02'),
  });

  testFixture<PathAttribute>('AS_PATH with 4-octet ASes', four, {
    object: { kind: 'asPath', segments: [{ type: 'sequence', asns: [64512, 4_200_000_001] }] },
    bytes: hex(`
      40 02 0a              // AS_PATH, 10 bytes
      02 02                 // AS_SEQUENCE of 2
      00 00 fc 00           // 64512
      fa 56 ea 01           // 4200000001`),
  });
  testFixture<PathAttribute>('AS_PATH with 2-octet ASes (AS_TRANS for the 4-octet one)', two, {
    object: { kind: 'asPath', segments: [{ type: 'sequence', asns: [64512, 23456] }] },
    bytes: hex('40 02 06  02 02  fc 00  5b a0'),
  });
  testFixture<PathAttribute>('AS_PATH empty, as on iBGP', four, {
    object: { kind: 'asPath', segments: [] },
    bytes: hex('40 02 00'),
  });
  testFixture<PathAttribute>('AS_PATH with all four segment types (RFC 5065 confederations)', four, {
    object: {
      kind: 'asPath',
      segments: [
        { type: 'confedSequence', asns: [65100] },
        { type: 'confedSet', asns: [65101] },
        { type: 'sequence', asns: [65001] },
        { type: 'set', asns: [65002, 65003] },
      ],
    },
    bytes: hex(`
      40 02 1c
      03 01 00 00 fe 4c     // AS_CONFED_SEQUENCE 65100
      04 01 00 00 fe 4d     // AS_CONFED_SET 65101
      02 01 00 00 fd e9     // AS_SEQUENCE 65001
      01 02 00 00 fd ea 00 00 fd eb   // AS_SET {65002, 65003}`),
  });
  testFixture<PathAttribute>('AS4_PATH (RFC 6793), always 4-octet', two, {
    object: { kind: 'as4Path', segments: [{ type: 'sequence', asns: [4_200_000_001] }] },
    bytes: hex('c0 11 06  02 01 fa 56 ea 01  // optional transitive, type 17'),
  });
  testFixture<PathAttribute>('NEXT_HOP', four, {
    object: { kind: 'nextHop', nextHop: parseIp('10.78.0.1') },
    bytes: hex('40 03 04  0a 4e 00 01'),
  });
  testFixture<PathAttribute>('MULTI_EXIT_DISC', four, {
    object: { kind: 'multiExitDisc', med: 100 },
    bytes: hex('80 04 04  00 00 00 64  // optional non-transitive, type 4'),
  });
  testFixture<PathAttribute>('LOCAL_PREF', four, {
    object: { kind: 'localPref', localPref: 200 },
    bytes: hex('40 05 04  00 00 00 c8'),
  });
  testFixture<PathAttribute>('ATOMIC_AGGREGATE', four, {
    object: { kind: 'atomicAggregate' },
    bytes: hex('40 06 00'),
  });
  testFixture<PathAttribute>('AGGREGATOR, 4-octet AS', four, {
    object: { kind: 'aggregator', asn: 4_200_000_001, address: parseIp('10.78.0.1') },
    bytes: hex('c0 07 08  fa 56 ea 01  0a 4e 00 01'),
  });
  testFixture<PathAttribute>('AGGREGATOR, 2-octet AS', two, {
    object: { kind: 'aggregator', asn: 64512, address: parseIp('10.78.0.1') },
    bytes: hex('c0 07 06  fc 00  0a 4e 00 01'),
  });
  testFixture<PathAttribute>('COMMUNITIES (RFC 1997)', four, {
    object: { kind: 'communities', communities: [0xfc00_0064, 0xffff_ff01] },
    bytes: hex('c0 08 08  fc 00 00 64  ff ff ff 01  // 64512:100, NO_EXPORT'),
  });
  testFixture<PathAttribute>('LARGE_COMMUNITY (RFC 8092)', four, {
    object: {
      kind: 'largeCommunities',
      communities: [{ globalAdmin: 4_200_000_001, localData1: 1, localData2: 2 }],
    },
    bytes: hex('c0 20 0c  fa 56 ea 01 00 00 00 01 00 00 00 02'),
  });
  testFixture<PathAttribute>('MP_REACH_NLRI, IPv6 with a 16-byte next hop', four, {
    object: {
      kind: 'mpReachNlri',
      family: 6,
      nextHop: parseIp('fd00:77::1'),
      nlri: [p('2001:db8:77::99/128')],
    },
    bytes: hex(`
      80 0e 26              // optional non-transitive, type 14, 38 bytes
      00 02 01              // AFI 2, SAFI 1
      10                    // next hop length 16
      fd 00 00 77 00 00 00 00 00 00 00 00 00 00 00 01   // fd00:77::1
      00                    // reserved
      80 20 01 0d b8 00 77 00 00 00 00 00 00 00 00 00 99   // 2001:db8:77::99/128`),
  });
  testFixture<PathAttribute>('MP_REACH_NLRI, IPv4 unicast (AFI 1) with a 4-byte next hop', four, {
    object: { kind: 'mpReachNlri', family: 4, nextHop: parseIp('10.78.0.1'), nlri: [p('198.51.100.0/24')] },
    bytes: hex('80 0e 0d  00 01 01  04 0a 4e 00 01  00  18 c6 33 64'),
  });
  testFixture<PathAttribute>('MP_UNREACH_NLRI, IPv6', four, {
    object: { kind: 'mpUnreachNlri', family: 6, withdrawn: [p('2001:db8:77::/64')] },
    bytes: hex(`
      80 0f 0c              // optional non-transitive, type 15, 12 bytes
      00 02 01              // AFI 2, SAFI 1
      40 20 01 0d b8 00 77 00 00   // 2001:db8:77::/64`),
  });

  describe('unknown attributes stay verbatim', () => {
    testFixture<PathAttribute>('an optional transitive one with Partial set (extended communities)', four, {
      object: { kind: 'unknown', flags: 0xe0, code: 16, value: hex('00 02 fd e8 00 00 00 64') },
      bytes: hex('e0 10 08  00 02 fd e8 00 00 00 64  // optional, transitive, partial; type 16'),
    });
    testFixture<PathAttribute>('an optional non-transitive one (ORIGINATOR_ID)', four, {
      object: { kind: 'unknown', flags: 0x80, code: 9, value: hex('0a 00 00 01') },
      bytes: hex('80 09 04  0a 00 00 01'),
    });
    testFixture<PathAttribute>('MP_REACH_NLRI of a family we never negotiate (VPNv4, SAFI 128)', four, {
      object: {
        kind: 'unknown',
        flags: 0x80,
        code: 14,
        value: hex('00 01 80 0c 00000000 00000000 0a4e0001 00'),
      },
      bytes: hex('80 0e 11  00 01 80  0c 00000000 00000000 0a4e0001  00'),
    });
    testFixture<PathAttribute>('the four unused flag bits are dropped, as §4.3 says to ignore them', four, {
      object: { kind: 'unknown', flags: 0xc0, code: 99, value: hex('01') },
      wire: hex('cf 63 01 01'),
      bytes: hex('c0 63 01 01'),
    });

    it('passes optional transitive ones on with Partial set, drops non-transitive ones (§5)', () => {
      const transitive: UnknownAttribute = { kind: 'unknown', flags: 0xc0, code: 16, value: hex('00') };
      assert.equal(forwardUnknown(transitive)?.flags, 0xe0);
      assert.equal(forwardUnknown({ ...transitive, flags: 0x80 }), undefined);
    });

    it('refuses to encode a well-known unknown, or stray flag bits', () => {
      throwsCode(
        () => encodePathAttribute({ kind: 'unknown', flags: 0x40, code: 99, value: hex('') }, FOUR),
        'BGP_ENCODE_INVALID',
      );
      throwsCode(
        () => encodePathAttribute({ kind: 'unknown', flags: 0x90, code: 99, value: hex('') }, FOUR),
        'BGP_ENCODE_INVALID',
      );
    });
  });

  describe('Extended Length (RFC 4271 §4.3)', () => {
    const communities = Array.from({ length: 70 }, (_, i) => 0xfc00_0000 + i);
    testFixture<PathAttribute>('is used past 255 bytes: 70 communities are 280', four, {
      object: { kind: 'communities', communities },
      bytes: hex(`
        d0 08 01 18         // optional, transitive, extended length; type 8; 280 bytes
        ${communities.map((c) => c.toString(16).padStart(8, '0')).join(' ')}`),
    });
    testFixture<PathAttribute>('an unknown attribute of 300 bytes', four, {
      object: { kind: 'unknown', flags: 0xc0, code: 200, value: Buffer.alloc(300, 0xab) },
      bytes: hex(`d0 c8 01 2c ${'ab'.repeat(300)}`),
    });
    testFixture<PathAttribute>('is accepted on a short value but not used by us', four, {
      object: { kind: 'origin', origin: 'igp' },
      wire: hex('50 01 00 01  00  // extended length for a 1-byte value'),
      bytes: hex('40 01 01  00'),
    });
  });

  it('reads AS numbers as the session negotiated: the same bytes mean different things', () => {
    const bytes = hex('40 02 06  02 01 fa 56 ea 01');
    assert.deepEqual(four.decode(bytes), {
      kind: 'asPath',
      segments: [{ type: 'sequence', asns: [4_200_000_001] }],
    });
    // As 2-octet: one AS 0xfa56, then "ea 01" is a segment of undefined type 234.
    throwsBgp(() => decodeUpdate(updateMessage({ attributes: bytes }), TWO), {
      code: 3,
      subcode: UPDATE_SUBCODE.MALFORMED_AS_PATH,
      data: '',
      handling: 'treat-as-withdraw',
    });
  });

  it('refuses to write a 4-octet AS into a 2-octet AS_PATH (send AS_TRANS + AS4_PATH instead)', () =>
    throwsCode(
      () =>
        encodePathAttribute({ kind: 'asPath', segments: [{ type: 'sequence', asns: [4_200_000_001] }] }, TWO),
      'BGP_ENCODE_INVALID',
      'attribute.segments[0].asns[0]',
    ));

  it('refuses to encode malformed values', () => {
    const bad: [PathAttribute, string][] = [
      [{ kind: 'communities', communities: [] }, 'attribute'],
      [{ kind: 'largeCommunities', communities: [] }, 'attribute'],
      [{ kind: 'nextHop', nextHop: parseIp('0.0.0.0') }, 'attribute'],
      [{ kind: 'nextHop', nextHop: parseIp('fd00::1') }, 'attribute'],
      [{ kind: 'asPath', segments: [{ type: 'sequence', asns: [] }] }, 'attribute.segments[0]'],
      [{ kind: 'asPath', segments: [{ type: 'sequence', asns: [0] }] }, 'attribute.segments[0].asns[0]'],
      [{ kind: 'localPref', localPref: 2 ** 32 }, 'attribute.localPref'],
      [{ kind: 'mpReachNlri', family: 6, nextHop: parseIp('10.0.0.1'), nlri: [] }, 'attribute.nextHop'],
      [
        { kind: 'mpReachNlri', family: 6, nextHop: parseIp('fd00::1'), nlri: [p('10.0.0.0/8')] },
        'attribute.nlri[0]',
      ],
    ];
    for (const [attribute, path] of bad)
      throwsCode(() => encodePathAttribute(attribute, FOUR), 'BGP_ENCODE_INVALID', path);
    throwsCode(
      () => encodePathAttributes([{ kind: 'atomicAggregate' }, { kind: 'atomicAggregate' }], FOUR),
      'BGP_ENCODE_INVALID',
      'update.attributes[1]',
    );
  });
});

describe('UPDATE (RFC 4271 §4.3)', () => {
  const codec = {
    decode: (bytes: Buffer) => decodeUpdate(bytes, FOUR),
    encode: (u: Update) => encodeUpdate(u, FOUR),
  };
  const frrAttributes: PathAttribute[] = [
    { kind: 'origin', origin: 'igp' },
    { kind: 'asPath', segments: [{ type: 'sequence', asns: [4_200_000_001] }] },
    { kind: 'multiExitDisc', med: 0 },
    { kind: 'communities', communities: [0xfc00_0064, 0xffff_ff01] },
    { kind: 'largeCommunities', communities: [{ globalAdmin: 4_200_000_001, localData1: 1, localData2: 2 }] },
  ];

  testFixture<Update>('captured from FRR: two IPv4 prefixes', codec, {
    object: {
      type: 'update',
      withdrawnRoutes: [],
      attributes: [
        ...frrAttributes.slice(0, 2),
        { kind: 'nextHop', nextHop: parseIp('10.78.0.1') },
        ...frrAttributes.slice(2),
      ],
      nlri: [p('198.51.100.0/24'), p('203.0.113.7/32')],
    },
    wire: FRR_UPDATE_IPV4,
    // Ours differs in one place: AS_PATH with a 1-octet length (FRR set Extended Length).
    bytes: hex(`${MARKER}
      00 55 02              // length 85, UPDATE
      00 00                 // no withdrawn routes
      00 35                 // 53 bytes of attributes
      40 01 01  00
      40 02 06  02 01 fa 56 ea 01
      40 03 04  0a 4e 00 01
      80 04 04  00 00 00 00
      c0 08 08  fc 00 00 64 ff ff ff 01
      c0 20 0c  fa 56 ea 01 00 00 00 01 00 00 00 02
      18 c6 33 64  20 cb 00 71 07`),
  });

  testFixture<Update>('captured from FRR: IPv6 in MP_REACH_NLRI with a link-local next hop', codec, {
    object: {
      type: 'update',
      withdrawnRoutes: [],
      attributes: [
        {
          kind: 'mpReachNlri',
          family: 6,
          nextHop: parseIp('fd00:78::1'),
          linkLocalNextHop: parseIp('fe80::5eff:fe78:1'),
          nlri: [p('2001:db8:1::/48')],
        },
        ...frrAttributes,
      ],
      nlri: [],
    },
    wire: FRR_UPDATE_IPV6,
    bytes: hex(`${MARKER}
      00 74 02 00 00
      00 5d                 // 93 bytes of attributes
      80 0e 2c              // MP_REACH_NLRI with a 1-octet length (FRR used 2, and for AS_PATH)
      00 02 01 20
      fd 00 00 78 00 00 00 00 00 00 00 00 00 00 00 01
      fe 80 00 00 00 00 00 00 00 00 5e ff fe 78 00 01
      00  30 20 01 0d b8 00 01
      40 01 01  00
      40 02 06  02 01 fa 56 ea 01
      80 04 04  00 00 00 00
      c0 08 08  fc 00 00 64 ff ff ff 01
      c0 20 0c  fa 56 ea 01 00 00 00 01 00 00 00 02`),
  });

  testFixture<Update>('withdrawing two IPv4 prefixes', codec, {
    object: {
      type: 'update',
      withdrawnRoutes: [p('10.77.0.0/24'), p('10.77.1.7/32')],
      attributes: [],
      nlri: [],
    },
    bytes: hex(`${MARKER}
      00 20 02              // length 32, UPDATE
      00 09                 // 9 bytes of withdrawn routes
      18 0a 4d 00           // 10.77.0.0/24
      20 0a 4d 01 07        // 10.77.1.7/32
      00 00                 // no attributes, no NLRI`),
  });

  testFixture<Update>('End-of-RIB for IPv4, as FRR and BIRD send it (RFC 4724 §2)', codec, {
    object: { type: 'update', withdrawnRoutes: [], attributes: [], nlri: [] },
    bytes: END_OF_RIB_IPV4,
  });
  testFixture<Update>('End-of-RIB for IPv6, as FRR and BIRD send it', codec, {
    object: {
      type: 'update',
      withdrawnRoutes: [],
      attributes: [{ kind: 'mpUnreachNlri', family: 6, withdrawn: [] }],
      nlri: [],
    },
    bytes: END_OF_RIB_IPV6,
  });

  it('endOfRib builds the markers byte for byte as FRR and BIRD do, and recognizes them', () => {
    assert.equal(endOfRib(4).toString('hex'), END_OF_RIB_IPV4.toString('hex'));
    assert.equal(endOfRib(6).toString('hex'), END_OF_RIB_IPV6.toString('hex'));
    assert.equal(endOfRibFamily(decodeUpdate(END_OF_RIB_IPV4, FOUR)), 4);
    assert.equal(endOfRibFamily(decodeUpdate(END_OF_RIB_IPV6, FOUR)), 6);
    assert.equal(endOfRibFamily(decodeUpdate(FRR_UPDATE_IPV4, FOUR)), undefined);
    assert.equal(endOfRibFamily(decodeUpdate(FRR_UPDATE_IPV6, FOUR)), undefined);
  });

  it('refuses to encode an UPDATE over 4096 bytes, or IPv6 in the IPv4 fields', () => {
    const many = Array.from({ length: 900 }, (_, i) => p(`10.0.${i >> 8}.${i & 255}/32`));
    throwsCode(
      () => codec.encode({ type: 'update', withdrawnRoutes: many, attributes: [], nlri: [] }),
      'BGP_ENCODE_INVALID',
    );
    throwsCode(
      () => codec.encode({ type: 'update', withdrawnRoutes: [], attributes: [], nlri: [p('2001:db8::/32')] }),
      'BGP_ENCODE_INVALID',
      'update.nlri[0]',
    );
  });
});

describe('UPDATE errors (RFC 4271 §6.3, RFC 7606)', () => {
  const ORIGIN = '40 01 01 00';
  const AS_PATH = '40 02 00';
  const NEXT_HOP = '40 03 04 0a 4e 00 01';
  const NLRI = hex('18 0a 4d 00');
  const withAttributes = (attributes: string, nlri = NLRI): Buffer =>
    updateMessage({ attributes: hex(attributes), nlri });

  const cases: [string, Buffer, number, string | undefined, ErrorHandling][] = [
    // Attribute-level: the attribute's boundaries hold, so only this UPDATE's routes are lost.
    [
      'ORIGIN 3: Invalid ORIGIN',
      withAttributes(`40 01 01 03 ${AS_PATH} ${NEXT_HOP}`),
      6,
      '40010103',
      'treat-as-withdraw',
    ],
    [
      'ORIGIN of 2 bytes',
      withAttributes(`40 01 02 00 00 ${AS_PATH} ${NEXT_HOP}`),
      5,
      '4001020000',
      'treat-as-withdraw',
    ],
    [
      'ORIGIN marked optional: Attribute Flags Error',
      withAttributes(`c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`),
      4,
      'c0010100',
      'treat-as-withdraw',
    ],
    [
      'COMMUNITIES marked non-transitive',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} 80 08 04 00 00 00 01`),
      4,
      '800804' + '00000001',
      'treat-as-withdraw',
    ],
    [
      'AS_PATH segment type 5',
      withAttributes(`${ORIGIN} 40 02 06 05 01 00 00 fd e9 ${NEXT_HOP}`),
      11,
      '',
      'treat-as-withdraw',
    ],
    [
      'AS_PATH empty segment',
      withAttributes(`${ORIGIN} 40 02 02 02 00 ${NEXT_HOP}`),
      11,
      '',
      'treat-as-withdraw',
    ],
    [
      'AS_PATH segment overrun',
      withAttributes(`${ORIGIN} 40 02 06 02 02 00 00 fd e9 ${NEXT_HOP}`),
      11,
      '',
      'treat-as-withdraw',
    ],
    [
      'AS_PATH with AS 0 (RFC 7607)',
      withAttributes(`${ORIGIN} 40 02 06 02 01 00 00 00 00 ${NEXT_HOP}`),
      11,
      '',
      'treat-as-withdraw',
    ],
    [
      'NEXT_HOP of 5 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} 40 03 05 0a 4e 00 01 00`),
      5,
      '4003050a4e000100',
      'treat-as-withdraw',
    ],
    [
      'NEXT_HOP 0.0.0.0',
      withAttributes(`${ORIGIN} ${AS_PATH} 40 03 04 00 00 00 00`),
      8,
      '400304' + '00000000',
      'treat-as-withdraw',
    ],
    [
      'NEXT_HOP multicast',
      withAttributes(`${ORIGIN} ${AS_PATH} 40 03 04 e0 00 00 05`),
      8,
      '400304e0000005',
      'treat-as-withdraw',
    ],
    [
      'LOCAL_PREF of 3 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} 40 05 03 00 00 01`),
      5,
      '400503000001',
      'treat-as-withdraw',
    ],
    [
      'COMMUNITIES of 6 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 08 06 00 00 00 01 00 02`),
      5,
      undefined,
      'treat-as-withdraw',
    ],
    [
      'COMMUNITIES of 0 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 08 00`),
      5,
      'c00800',
      'treat-as-withdraw',
    ],
    [
      'LARGE_COMMUNITY of 13 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 20 0d ${'00'.repeat(13)}`),
      5,
      undefined,
      'treat-as-withdraw',
    ],
    ['missing ORIGIN', withAttributes(`${AS_PATH} ${NEXT_HOP}`), 3, '01', 'treat-as-withdraw'],
    ['missing NEXT_HOP with IPv4 NLRI', withAttributes(`${ORIGIN} ${AS_PATH}`), 3, '03', 'treat-as-withdraw'],
    [
      'missing AS_PATH with MP_REACH_NLRI',
      withAttributes(`80 0e 0d 00 01 01 04 0a 4e 00 01 00 18 c6 33 64 ${ORIGIN}`, Buffer.alloc(0)),
      3,
      '02',
      'treat-as-withdraw',
    ],
    [
      'an attribute overrunning the attribute field (RFC 7606 §4)',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 08 08 00 00 00 01`),
      5,
      'c0080800000001',
      'treat-as-withdraw',
    ],
    [
      'two bytes where an attribute should be',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 08`),
      5,
      'c008',
      'treat-as-withdraw',
    ],
    // Attribute-discard: the attribute carries no routing information.
    [
      'a repeated ORIGIN (RFC 7606 §3)',
      withAttributes(`${ORIGIN} ${ORIGIN} ${AS_PATH} ${NEXT_HOP}`),
      1,
      '',
      'attribute-discard',
    ],
    [
      'ATOMIC_AGGREGATE with a value',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} 40 06 01 00`),
      5,
      '40060100',
      'attribute-discard',
    ],
    [
      'AGGREGATOR of 7 bytes',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 07 07 ${'01'.repeat(7)}`),
      5,
      undefined,
      'attribute-discard',
    ],
    [
      'AGGREGATOR with AS 0',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} c0 07 08 00 00 00 00 0a 00 00 01`),
      9,
      undefined,
      'attribute-discard',
    ],
    // Session reset: the routes cannot be located, or a well-known attribute is not understood.
    [
      'an unrecognized well-known attribute',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} 40 63 01 00`),
      2,
      '40630100',
      'session-reset',
    ],
    [
      'a repeated MP_REACH_NLRI',
      withAttributes(
        `${ORIGIN} ${AS_PATH} 80 0e 15 00 02 01 10 ${'fd'.repeat(16)} 00 80 0e 15 00 02 01 10 ${'fd'.repeat(16)} 00`,
        Buffer.alloc(0),
      ),
      1,
      '',
      'session-reset',
    ],
    [
      'MP_REACH_NLRI with an 8-byte next hop',
      withAttributes(`${ORIGIN} ${AS_PATH} 80 0e 0d 00 02 01 08 ${'00'.repeat(8)} 00`, Buffer.alloc(0)),
      9,
      '800e0d000201080000000000000000' + '00',
      'session-reset',
    ],
    [
      'MP_REACH_NLRI with a /129',
      withAttributes(
        `${ORIGIN} ${AS_PATH} 80 0e 16 00 02 01 10 ${'fd'.repeat(16)} 00 81 00`,
        Buffer.alloc(0),
      ),
      9,
      undefined,
      'session-reset',
    ],
    [
      'MP_UNREACH_NLRI of 2 bytes',
      withAttributes(`80 0f 02 00 02`, Buffer.alloc(0)),
      9,
      '800f020002',
      'session-reset',
    ],
    [
      'NLRI /33 (RFC 7606 §5.3)',
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP}`, hex('21 0a 4d 00 63 00')),
      10,
      '',
      'session-reset',
    ],
    ['withdrawn routes /40', updateMessage({ withdrawn: hex('28 0a 4d 00 63 00') }), 10, '', 'session-reset'],
    // The strongest handling wins (RFC 7606 §3): a bad ORIGIN and then a broken MP_REACH_NLRI.
    [
      'a treat-as-withdraw error followed by a session-reset one',
      withAttributes(`40 01 01 07 ${AS_PATH} 80 0e 05 00 02 01 03 00`, Buffer.alloc(0)),
      9,
      '800e050002010300',
      'session-reset',
    ],
  ];
  for (const [name, message, subcode, data, handling] of cases) {
    it(`${name}: 3/${subcode}, ${handling}`, () =>
      throwsBgp(() => decodeUpdate(message, FOUR), {
        code: ERROR_CODE.UPDATE_MESSAGE,
        subcode,
        data,
        handling,
      }));
  }

  it('lengths that overrun the message: Malformed Attribute List, session reset', () => {
    throwsBgp(() => decodeUpdate(hex(`${MARKER} 00 17 02 00 05 00 00`), FOUR), {
      code: 3,
      subcode: UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST,
      data: '',
      handling: 'session-reset',
    });
    throwsBgp(() => decodeUpdate(hex(`${MARKER} 00 18 02 00 00 00 02 40`), FOUR), {
      code: 3,
      subcode: UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST,
      handling: 'session-reset',
    });
  });

  it('an UPDATE shorter than 23 bytes: Bad Message Length', () =>
    throwsBgp(() => decodeUpdate(hex(`${MARKER} 00 16 02 00 00 00`), FOUR), {
      code: 1,
      subcode: 2,
      data: '0016',
    }));

  it('flags: only Optional and Transitive are checked, Partial is accepted on a known attribute', () => {
    const update = decodeUpdate(
      withAttributes(`${ORIGIN} ${AS_PATH} ${NEXT_HOP} e0 08 04 00 00 00 01`),
      FOUR,
    );
    assert.deepEqual(update.attributes[3], { kind: 'communities', communities: [1] });
    assert.equal(FLAG.PARTIAL, 0x20);
  });
});
