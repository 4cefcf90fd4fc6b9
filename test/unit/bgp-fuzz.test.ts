/**
 * Deterministic fuzzing of the BGP decoders: whatever a peer sends, decodeMessage returns a message
 * or throws a BgpWireError (the NOTIFICATION to send), and MessageReader cuts any byte stream the
 * same way however it is chunked. Anything else escaping (a RangeError from a Buffer read, a
 * TypeError, our own encode error) is a bug, since every byte comes from the network. Whatever
 * decodes must re-encode and decode to the same object. The seed is fixed, so a failure reproduces,
 * and the failing bytes are printed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../shared/ip/address.ts';
import { BgpWireError } from '../../speaker/bgp/wire/errors.ts';
import { encodeKeepalive } from '../../speaker/bgp/wire/keepalive.ts';
import { decodeMessage, encodeMessage } from '../../speaker/bgp/wire/message.ts';
import { cease } from '../../speaker/bgp/wire/notification.ts';
import { encodeOpen, makeOpen } from '../../speaker/bgp/wire/open.ts';
import { packUpdates } from '../../speaker/bgp/wire/packing.ts';
import { parsePrefix } from '../../speaker/bgp/wire/prefix.ts';
import { encodeRouteRefresh } from '../../speaker/bgp/wire/route-refresh.ts';
import type { SessionOptions } from '../../speaker/bgp/wire/session-options.ts';
import { MessageReader } from '../../speaker/bgp/wire/stream.ts';
import { encodeUpdate } from '../../speaker/bgp/wire/update.ts';
import * as captured from '../fixtures/captured-bgp.ts';
import { hex } from '../harness/hex.ts';
import { seededRandom } from '../harness/prng.ts';

// BGP_FUZZ_CASES=1000000 digs deeper by hand; the default keeps the suite at a few seconds.
const CASES = Number(process.env.BGP_FUZZ_CASES ?? 20_000);
const SEED = 0x62677077; // "bgpw"

const FOUR: SessionOptions = { fourOctetAs: true };
const TWO: SessionOptions = { fourOctetAs: false };
const p = parsePrefix;

/** Every message type and attribute we know, so mutations start from deep inside each decoder. */
const SEEDS: readonly Buffer[] = [
  captured.FRR_OPEN,
  captured.BIRD_OPEN,
  captured.FRR_UPDATE_IPV4,
  captured.FRR_UPDATE_IPV6,
  captured.END_OF_RIB_IPV4,
  captured.END_OF_RIB_IPV6,
  encodeKeepalive(),
  encodeMessage(cease(2, 'maintenance window'), FOUR),
  encodeRouteRefresh({ type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 }),
  encodeOpen(
    makeOpen({
      asn: 4_200_000_001,
      holdTime: 90,
      bgpIdentifier: parseIp('10.77.0.5'),
      families: [4, 6],
      routeRefresh: true,
      gracefulRestart: {
        restarting: true,
        notification: true,
        restartTime: 120,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
      },
    }),
  ),
  // The RFC 9072 extended optional parameters form.
  hex(`${'ff'.repeat(16)} 00 25 01 04 fd e8 00 b4 0a 4d 00 05 ff ff 00 05 02 00 02 02 00`),
  encodeUpdate(
    {
      type: 'update',
      withdrawnRoutes: [p('10.77.9.0/24')],
      attributes: [
        { kind: 'origin', origin: 'egp' },
        {
          kind: 'asPath',
          segments: [
            { type: 'sequence', asns: [65001, 65002] },
            { type: 'set', asns: [65003] },
          ],
        },
        { kind: 'nextHop', nextHop: parseIp('10.77.0.1') },
        { kind: 'multiExitDisc', med: 10 },
        { kind: 'localPref', localPref: 100 },
        { kind: 'atomicAggregate' },
        { kind: 'aggregator', asn: 65001, address: parseIp('10.77.0.1') },
        { kind: 'communities', communities: [1, 2, 3] },
        { kind: 'unknown', flags: 0xe0, code: 16, value: hex('0002fde800000064') },
        { kind: 'as4Path', segments: [{ type: 'sequence', asns: [4_200_000_001] }] },
        { kind: 'largeCommunities', communities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] },
      ],
      nlri: [p('10.77.0.0/23'), p('10.77.2.1/32')],
    },
    TWO,
  ),
  ...packUpdates(
    [
      {
        prefix: p('2001:db8::/64'),
        attributes: {
          origin: 'igp',
          asPath: [],
          nextHop: parseIp('fd00::1'),
          localPref: 1,
          communities: Array.from({ length: 70 }, (_, i) => i),
          largeCommunities: [],
        },
      },
    ],
    [p('2001:db8:1::/48'), p('10.1.0.0/16')],
    FOUR,
  ),
];

function fixLength(message: Buffer): Buffer {
  if (message.length >= 18) message.writeUInt16BE(message.length & 0xffff, 16);
  return message;
}

/** One fuzz case: random bytes, random bodies behind a valid header, truncations, mutations. */
function makeCase(random: () => number): Buffer {
  const int = (below: number): number => Math.floor(random() * below);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const seed = SEEDS[int(SEEDS.length)]!;
  const body = (message: Buffer): number => 19 + int(Math.max(1, message.length - 19));
  switch (int(8)) {
    case 0:
      return bytes(int(80));
    case 1: {
      const message = Buffer.concat([Buffer.alloc(19, 0xff), bytes(int(120))]);
      message[18] = 1 + int(6);
      return fixLength(message);
    }
    case 2:
      return Buffer.from(seed.subarray(0, int(seed.length + 1)));
    case 3:
      return fixLength(Buffer.from(seed.subarray(0, 19 + int(seed.length - 18))));
    case 4: {
      const message = Buffer.from(seed);
      if (message.length > 19) message[body(message)] = int(256);
      return message;
    }
    case 5: {
      const message = Buffer.from(seed);
      for (let i = 1 + int(4); i > 0; i--) message[16 + int(message.length - 16)] = int(256);
      return fixLength(message);
    }
    case 6: {
      const at = body(seed);
      const removed = int(4);
      return fixLength(Buffer.concat([seed.subarray(0, at), bytes(int(5)), seed.subarray(at + removed)]));
    }
    default: {
      // Small values where lengths live are what break parsers: aim them at random body offsets.
      const message = Buffer.from(seed);
      if (message.length > 19) message[body(message)] = random() < 0.5 ? int(8) : 0xff - int(8);
      return message;
    }
  }
}

type Outcome = 'ok' | `${number}/${number}`;

function check(message: Buffer, options: SessionOptions, label: string): Outcome {
  let decoded;
  try {
    decoded = decodeMessage(message, options);
  } catch (error) {
    if (error instanceof BgpWireError) return `${error.errorCode}/${error.errorSubcode}`;
    assert.fail(`${label}: ${String(error)} for ${message.toString('hex')}`);
  }
  let again;
  try {
    again = decodeMessage(encodeMessage(decoded, options), options);
  } catch (error) {
    assert.fail(`${label}: re-encoding failed with ${String(error)} for ${message.toString('hex')}`);
  }
  assert.deepEqual(again, decoded, `${label}: re-encoding changed ${message.toString('hex')}`);
  return 'ok';
}

describe('BGP decoders under fuzzing', () => {
  for (const [index, options] of [FOUR, TWO].entries()) {
    it(`decodeMessage (fourOctetAs ${options.fourOctetAs}): ${CASES} cases yield messages or BgpWireErrors`, (t) => {
      const random = seededRandom(SEED + index);
      const outcomes = new Map<Outcome, number>();
      let slowest = 0;
      for (let i = 0; i < CASES; i++) {
        const message = makeCase(random);
        const start = performance.now();
        const outcome = check(message, options, `case ${i}`);
        slowest = Math.max(slowest, performance.now() - start);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      t.diagnostic(`slowest case ${slowest.toFixed(2)} ms; ${JSON.stringify(Object.fromEntries(outcomes))}`);
      // A fuzzer that never gets past the header tests nothing: require successes and many errors.
      assert.ok((outcomes.get('ok') ?? 0) > CASES / 20, `too few decoded: ${JSON.stringify([...outcomes])}`);
      assert.ok(outcomes.size >= 15, `too few distinct outcomes: ${JSON.stringify([...outcomes])}`);
      assert.ok(slowest < 250, `a case took ${slowest} ms`);
    });
  }

  it(`MessageReader: ${CASES / 10} streams, cut at random, give the same messages`, () => {
    const random = seededRandom(SEED + 10);
    const int = (below: number): number => Math.floor(random() * below);
    for (let i = 0; i < CASES / 10; i++) {
      const messages = Array.from({ length: 1 + int(6) }, () => SEEDS[int(SEEDS.length)]!);
      const stream = Buffer.concat(messages);
      const reader = new MessageReader();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const size = random() < 0.3 ? 1 : 1 + int(200);
        out.push(...reader.push(stream.subarray(at, at + size)));
        at += size;
      }
      assert.equal(reader.buffered, 0);
      assert.deepEqual(
        out.map((m) => m.toString('hex')),
        messages.map((m) => m.toString('hex')),
      );
    }
  });

  it(`MessageReader: ${CASES / 10} damaged streams throw only BgpWireErrors, and stay failed`, () => {
    const random = seededRandom(SEED + 11);
    const int = (below: number): number => Math.floor(random() * below);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < CASES / 10; i++) {
      const stream = Buffer.concat(Array.from({ length: 1 + int(4) }, () => makeCase(random)));
      const reader = new MessageReader();
      let outcome = 'ok';
      try {
        for (let at = 0, size = 0; at < stream.length; at += size) {
          size = 1 + int(64);
          for (const message of reader.push(stream.subarray(at, at + size))) {
            assert.ok(message.length >= 19 && message.length <= 4096);
            assert.equal(message.readUInt16BE(16), message.length);
          }
        }
      } catch (error) {
        if (!(error instanceof BgpWireError)) assert.fail(`${String(error)} for ${stream.toString('hex')}`);
        outcome = `${error.errorCode}/${error.errorSubcode}`;
        assert.throws(
          () => reader.push(Buffer.alloc(1)),
          (again) => again === error,
        );
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    assert.deepEqual([...outcomes.keys()].sort(), ['1/1', '1/2', 'ok']);
  });
});
