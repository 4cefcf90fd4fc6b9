/**
 * UPDATE packing: many prefixes per UPDATE, never over 4096 bytes, never two attribute sets in one
 * message, and every message decoding back to exactly what was asked for.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../shared/ip/address.ts';
import type { PathAttribute } from '../../speaker/bgp/wire/attributes/path-attributes.ts';
import { decodeMessage } from '../../speaker/bgp/wire/message.ts';
import {
  endOfRib,
  endOfRibFamily,
  packUpdates,
  pathAttributeList,
  type PathAttributes,
  type Route,
} from '../../speaker/bgp/wire/packing.ts';
import {
  comparePrefixes,
  formatPrefix,
  makePrefix,
  parsePrefix,
  type Prefix,
} from '../../speaker/bgp/wire/prefix.ts';
import type { SessionOptions } from '../../speaker/bgp/wire/session-options.ts';
import type { Update } from '../../speaker/bgp/wire/update.ts';
import { END_OF_RIB_IPV4, END_OF_RIB_IPV6 } from '../fixtures/captured-bgp.ts';
import { throwsCode } from '../harness/frame-fixtures.ts';
import { seededRandom } from '../harness/prng.ts';

const FOUR: SessionOptions = { fourOctetAs: true };
const TWO: SessionOptions = { fourOctetAs: false };

const EBGP_V4: PathAttributes = {
  origin: 'igp',
  asPath: [64512],
  nextHop: parseIp('10.78.0.2'),
  communities: [0xfc00_0064],
  largeCommunities: [],
};
const IBGP_V4: PathAttributes = {
  origin: 'igp',
  asPath: [],
  nextHop: parseIp('10.78.0.2'),
  localPref: 150,
  communities: [],
  largeCommunities: [{ globalAdmin: 64512, localData1: 7, localData2: 8 }],
};
const EBGP_V6: PathAttributes = {
  ...EBGP_V4,
  nextHop: parseIp('fd00:78::2'),
  linkLocalNextHop: parseIp('fe80::5eff:fe78:2'),
};

/** n distinct /32s from 10.0.0.0 up (or /128s under 2001:db8::). */
function hosts(n: number, family: 4 | 6 = 4, offset = 0): Prefix[] {
  const base = family === 4 ? parseIp('10.0.0.0') : parseIp('2001:db8::');
  return Array.from({ length: n }, (_, i) =>
    makePrefix({ family, value: base.value + BigInt(i + offset) }, family === 4 ? 32 : 128),
  );
}

function decodeAll(messages: readonly Buffer[], options = FOUR): Update[] {
  return messages.map((message) => {
    assert.ok(message.length <= 4096, `an UPDATE of ${message.length} bytes`);
    const decoded = decodeMessage(message, options);
    assert.equal(decoded.type, 'update');
    return decoded as Update;
  });
}

/** The announced prefixes of an UPDATE and the attributes they carry (MP_REACH_NLRI aside). */
function announced(update: Update): { prefixes: readonly Prefix[]; attributes: PathAttribute[] } {
  const reach = update.attributes.find((a) => a.kind === 'mpReachNlri');
  return {
    prefixes: reach?.kind === 'mpReachNlri' ? reach.nlri : update.nlri,
    attributes: update.attributes.filter((a) => a.kind !== 'mpReachNlri'),
  };
}

const text = (prefixes: readonly Prefix[]): string[] => prefixes.map(formatPrefix);

describe('packUpdates', () => {
  it('packs 10,000 IPv4 /32s with one attribute set into as few UPDATEs as fit', (t) => {
    const prefixes = hosts(10_000);
    const routes = prefixes.map((prefix) => ({ prefix, attributes: EBGP_V4 }));
    const start = performance.now();
    const messages = packUpdates(routes, [], FOUR);
    const elapsed = performance.now() - start;
    const updates = decodeAll(messages);

    // 23 bytes of UPDATE framing + 27 of attributes leave 4046 for 5-byte /32s: 809 per UPDATE.
    const attributes = pathAttributeList(4, EBGP_V4, FOUR);
    const perUpdate = Math.floor((4096 - 23 - 27) / 5);
    assert.equal(messages.length, Math.ceil(10_000 / perUpdate));
    for (const update of updates) assert.deepEqual(update.attributes, attributes);
    for (const message of messages.slice(0, -1))
      assert.ok(message.length > 4096 - 5, 'a non-final UPDATE has room left');
    assert.deepEqual(text(updates.flatMap((u) => u.nlri)), text(prefixes));
    t.diagnostic(
      `10,000 /32s: ${messages.length} UPDATEs, ${messages.reduce((s, m) => s + m.length, 0)} bytes, ` +
        `encoded in ${elapsed.toFixed(1)} ms`,
    );
  });

  it('never mixes two attribute sets in one UPDATE, and keeps each set whole', () => {
    const random = seededRandom(7);
    const routes: Route[] = hosts(3000).map((prefix) => ({
      prefix,
      attributes: random() < 0.5 ? EBGP_V4 : IBGP_V4,
    }));
    const updates = decodeAll(packUpdates(routes, [], FOUR));
    const sets = [EBGP_V4, IBGP_V4].map((attributes) => ({
      expected: pathAttributeList(4, attributes, FOUR),
      prefixes: routes.filter((r) => r.attributes === attributes).map((r) => r.prefix),
    }));
    const seen: Prefix[][] = [[], []];
    for (const update of updates) {
      const index = sets.findIndex((set) => {
        try {
          assert.deepEqual(update.attributes, set.expected);
          return true;
        } catch {
          return false;
        }
      });
      assert.ok(index >= 0, 'an UPDATE with attributes of neither set');
      seen[index]!.push(...update.nlri);
    }
    sets.forEach((set, index) => assert.deepEqual(text(seen[index]!), text(set.prefixes)));
  });

  it('announces IPv6 inside MP_REACH_NLRI, first, with both next hops', (t) => {
    const prefixes = hosts(1000, 6);
    const messages = packUpdates(
      prefixes.map((prefix) => ({ prefix, attributes: EBGP_V6 })),
      [],
      FOUR,
    );
    const updates = decodeAll(messages);
    for (const update of updates) {
      assert.deepEqual(update.nlri, []);
      const first = update.attributes[0];
      assert.ok(first?.kind === 'mpReachNlri', 'MP_REACH_NLRI comes first (RFC 7606 §5.1)');
      assert.deepEqual(first.nextHop, EBGP_V6.nextHop);
      assert.deepEqual(first.linkLocalNextHop, EBGP_V6.linkLocalNextHop);
      assert.deepEqual(announced(update).attributes, pathAttributeList(6, EBGP_V6, FOUR));
    }
    assert.deepEqual(text(updates.flatMap((u) => announced(u).prefixes)), text(prefixes));
    // 17 bytes per /128; about 4000 bytes of room each.
    assert.equal(messages.length, Math.ceil(1000 / Math.floor((4096 - 23 - 4 - 5 - 32 - 20) / 17)));
    t.diagnostic(`1,000 /128s: ${messages.length} UPDATEs`);
  });

  it('bounds withdrawals: IPv4 in the Withdrawn Routes field, IPv6 in MP_UNREACH_NLRI', (t) => {
    const v4 = hosts(5000);
    const v6 = hosts(1000, 6);
    const messages = packUpdates([], [...v6, ...v4], FOUR);
    const updates = decodeAll(messages);
    const v4Updates = updates.filter((u) => u.withdrawnRoutes.length > 0);
    const v6Updates = updates.filter((u) => u.attributes.length > 0);
    assert.equal(v4Updates.length + v6Updates.length, updates.length);
    assert.deepEqual(text(v4Updates.flatMap((u) => u.withdrawnRoutes)), text(v4));
    assert.deepEqual(
      text(
        v6Updates.flatMap((u) =>
          u.attributes[0]?.kind === 'mpUnreachNlri' ? u.attributes[0].withdrawn : [],
        ),
      ),
      text(v6),
    );
    for (const update of v6Updates) assert.equal(update.attributes.length, 1);
    assert.equal(v4Updates.length, Math.ceil(5000 / Math.floor((4096 - 23) / 5)));
    t.diagnostic(`5,000 IPv4 + 1,000 IPv6 withdrawals: ${v4Updates.length} + ${v6Updates.length} UPDATEs`);
  });

  it('is deterministic: any input order gives the same bytes, withdrawals first, IPv4 first', () => {
    const routes: Route[] = [
      ...hosts(50).map((prefix) => ({ prefix, attributes: EBGP_V4 })),
      ...hosts(50, 4, 1000).map((prefix) => ({ prefix, attributes: IBGP_V4 })),
      ...hosts(50, 6).map((prefix) => ({ prefix, attributes: EBGP_V6 })),
    ];
    const withdrawals = [...hosts(10, 4, 5000), ...hosts(10, 6, 5000)];
    const expected = packUpdates(routes, withdrawals, FOUR).map((m) => m.toString('hex'));
    const random = seededRandom(11);
    const shuffle = <T>(items: readonly T[]): T[] =>
      items
        .map((item) => ({ item, key: random() }))
        .sort((a, b) => a.key - b.key)
        .map(({ item }) => item);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(
        packUpdates(shuffle(routes), shuffle(withdrawals), FOUR).map((m) => m.toString('hex')),
        expected,
      );
    }
    const kinds = decodeAll(expected.map((h) => Buffer.from(h, 'hex'))).map((u) =>
      u.withdrawnRoutes.length > 0
        ? 'withdraw4'
        : u.attributes[0]?.kind === 'mpUnreachNlri'
          ? 'withdraw6'
          : u.nlri.length > 0
            ? `announce4 ${u.nlri[0] && formatPrefix(u.nlri[0])}`
            : 'announce6',
    );
    assert.deepEqual(kinds, [
      'withdraw4',
      'withdraw6',
      'announce4 10.0.0.0/32',
      'announce4 10.0.3.232/32',
      'announce6',
    ]);
  });

  it('announces a prefix that is also withdrawn, and sends duplicates once', () => {
    const prefix = parsePrefix('10.77.0.99/32');
    const updates = decodeAll(
      packUpdates(
        [
          { prefix, attributes: EBGP_V4 },
          { prefix, attributes: { ...EBGP_V4, communities: [0xfc00_0064] } },
        ],
        [prefix, parsePrefix('10.77.0.98/32'), parsePrefix('10.77.0.98/32')],
        FOUR,
      ),
    );
    assert.deepEqual(
      updates.map((u) => [text(u.withdrawnRoutes), text(u.nlri)]),
      [
        [['10.77.0.98/32'], []],
        [[], ['10.77.0.99/32']],
      ],
    );
  });

  it('on a 2-octet session, a 4-octet AS goes as AS_TRANS with the real path in AS4_PATH (RFC 6793 §4.2.2)', () => {
    const attributes = { ...EBGP_V4, asPath: [4_200_000_001] };
    const [update] = decodeAll(
      packUpdates([{ prefix: parsePrefix('10.0.0.1/32'), attributes }], [], TWO),
      TWO,
    );
    assert.deepEqual(update?.attributes, [
      { kind: 'origin', origin: 'igp' },
      { kind: 'asPath', segments: [{ type: 'sequence', asns: [23456] }] },
      { kind: 'nextHop', nextHop: parseIp('10.78.0.2') },
      { kind: 'communities', communities: [0xfc00_0064] },
      { kind: 'as4Path', segments: [{ type: 'sequence', asns: [4_200_000_001] }] },
    ]);
    // A 4-octet session, or a 2-octet AS, needs neither.
    assert.deepEqual(pathAttributeList(4, attributes, FOUR)[1], {
      kind: 'asPath',
      segments: [{ type: 'sequence', asns: [4_200_000_001] }],
    });
    assert.equal(
      pathAttributeList(4, EBGP_V4, TWO).some((a) => a.kind === 'as4Path'),
      false,
    );
  });

  it('splits a path longer than 255 ASes into several AS_SEQUENCE segments', () => {
    const asPath = Array.from({ length: 300 }, (_, i) => 64512 + (i % 100));
    const [asPathAttribute] = pathAttributeList(4, { ...EBGP_V4, asPath }, FOUR).filter(
      (a) => a.kind === 'asPath',
    );
    assert.deepEqual(
      asPathAttribute?.kind === 'asPath' ? asPathAttribute.segments.map((s) => s.asns.length) : [],
      [255, 45],
    );
  });

  it('refuses what it cannot send', () => {
    const prefix = parsePrefix('10.0.0.1/32');
    throwsCode(
      () =>
        packUpdates(
          [
            { prefix, attributes: EBGP_V4 },
            { prefix, attributes: IBGP_V4 },
          ],
          [],
          FOUR,
        ),
      'BGP_ENCODE_INVALID',
      'routes[1]',
    );
    throwsCode(
      () => packUpdates([{ prefix: parsePrefix('2001:db8::1/128'), attributes: EBGP_V4 }], [], FOUR),
      'BGP_ENCODE_INVALID',
    );
    throwsCode(() => packUpdates([{ prefix, attributes: EBGP_V6 }], [], FOUR), 'BGP_ENCODE_INVALID');
    const communities = Array.from({ length: 1100 }, (_, i) => i);
    throwsCode(
      () => packUpdates([{ prefix, attributes: { ...EBGP_V4, communities } }], [], FOUR),
      'BGP_ENCODE_INVALID',
    );
  });

  it('accepts nothing to do', () => assert.deepEqual(packUpdates([], [], FOUR), []));

  it('sorts prefixes the same way comparePrefixes does', () => {
    const shuffled = [parsePrefix('10.0.0.0/8'), parsePrefix('10.0.0.0/24'), parsePrefix('9.0.0.0/8')];
    const [update] = decodeAll(
      packUpdates(
        shuffled.map((prefix) => ({ prefix, attributes: EBGP_V4 })),
        [],
        FOUR,
      ),
    );
    assert.deepEqual(text(update?.nlri ?? []), text([...shuffled].sort(comparePrefixes)));
  });
});

describe('End-of-RIB (RFC 4724 §2)', () => {
  it('is an empty UPDATE for IPv4 and an empty MP_UNREACH_NLRI for IPv6, as FRR and BIRD send', () => {
    assert.equal(endOfRib(4).toString('hex'), END_OF_RIB_IPV4.toString('hex'));
    assert.equal(endOfRib(6).toString('hex'), END_OF_RIB_IPV6.toString('hex'));
    assert.equal(endOfRibFamily(decodeMessage(endOfRib(6), FOUR) as Update), 6);
  });
});
