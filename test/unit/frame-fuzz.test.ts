/**
 * Deterministic fuzzing of the frame decoders: whatever the bytes, a decoder returns a result or
 * throws our typed error with a decode code; nothing else (a RangeError from a Buffer read, a
 * TypeError, a hang) is acceptable, because every frame on the LAN reaches them. Accepted frames
 * must also survive re-encoding. The seed is fixed, so a failure reproduces; the failing bytes are
 * printed. test/fixtures/frames/ keeps such frames for good, one JSON file each ({description,
 * decoder, hex, code}), together with the classic ones that crash or hang naive parsers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetallbError, type ErrorCode } from '../../shared/errors.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { arpReply, decodeArp, encodeArp, gratuitousArp } from '../../speaker/layer2/arp.ts';
import { decodeEthernet, encodeEthernet } from '../../speaker/layer2/ethernet.ts';
import { icmpv6Checksum } from '../../speaker/layer2/icmpv6-checksum.ts';
import { parseMac } from '../../speaker/layer2/mac.ts';
import {
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  unsolicitedNeighborAdvertisement,
} from '../../speaker/layer2/ndp.ts';
import * as captured from '../fixtures/captured-frames.ts';
import { hex } from '../harness/hex.ts';
import { seededRandom } from '../harness/prng.ts';

// FRAME_FUZZ_CASES=1000000 digs deeper by hand; the default keeps the suite at about a second.
const CASES_PER_DECODER = Number(process.env.FRAME_FUZZ_CASES ?? 20_000);
const SEED = 0x6d6c6274; // "mlbt"
const HOSTILE_FRAMES_DIR = join(import.meta.dirname, '..', 'fixtures', 'frames');

// What a decoder may throw: the frame codes, minus the encode-side ones (FRAME_INVALID_FIELD,
// MAC_INVALID) that only bad arguments to an encoder can cause.
const DECODE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FRAME_TRUNCATED',
  'FRAME_NOT_ETHERNET_II',
  'FRAME_VLAN_TAGGED',
  'FRAME_NOT_ARP',
  'FRAME_NOT_IPV6',
  'ARP_UNSUPPORTED',
  'ARP_BAD_OPERATION',
  'NDP_NOT_ICMPV6',
  'NDP_WRONG_TYPE',
  'NDP_BAD_HOP_LIMIT',
  'NDP_BAD_CODE',
  'NDP_BAD_LENGTH',
  'NDP_BAD_CHECKSUM',
  'NDP_BAD_TARGET',
  'NDP_BAD_OPTION',
  'NDP_BAD_SOURCE',
  'NDP_BAD_DAD',
  'NDP_BAD_FLAGS',
]);

interface Target {
  readonly decode: (frame: Buffer) => unknown;
  readonly encode: (value: never) => Buffer;
  readonly seeds: readonly Buffer[];
  /** Mutated IPv6 frames mostly die at the checksum; fixing it up lets the fuzzer reach past it. */
  readonly icmpv6: boolean;
  /**
   * Ethernet cannot tell padding from payload, so its round trip is checked on bytes: re-encoding
   * gives the frame back, padded to 60. The protocol decoders know their length: checked on objects.
   */
  readonly bytesRoundTrip?: boolean;
}

const OWNER = parseMac('02:00:5e:77:00:02');
const VIP4 = parseIp('10.77.0.99');
const VIP6 = parseIp('fd00:77::99');
const SOLICITATION_WITH_OPTIONS = fixChecksum(
  withPayload(captured.LINUX_NEIGHBOR_SOLICITATION, [14, 1, 1, 2, 3, 4, 5, 6, 1, 1, 1, 2, 3, 4, 5, 6]),
);

const TARGETS: Record<string, Target> = {
  ethernet: {
    decode: decodeEthernet,
    encode: encodeEthernet as Target['encode'],
    seeds: [
      captured.ARPING_REQUEST,
      captured.LINUX_NEIGHBOR_SOLICITATION,
      hex(`ffffffffffff 020000000001 8100 0005 0806`),
    ],
    icmpv6: false,
    bytesRoundTrip: true,
  },
  arp: {
    decode: decodeArp,
    encode: encodeArp as Target['encode'],
    seeds: [
      captured.ARPING_REQUEST,
      captured.LINUX_ARP_REPLY,
      ...gratuitousArp({ mac: OWNER, ip: VIP4 }),
      arpReply({ srcMac: OWNER, dstMac: OWNER, senderIp: VIP4, targetMac: OWNER, targetIp: VIP4 }),
    ],
    icmpv6: false,
  },
  'neighbor solicitation': {
    decode: decodeNeighborSolicitation,
    encode: encodeNeighborSolicitation as Target['encode'],
    seeds: [
      captured.LINUX_NEIGHBOR_SOLICITATION,
      captured.NDISC6_NEIGHBOR_SOLICITATION,
      SOLICITATION_WITH_OPTIONS,
      encodeNeighborSolicitation({
        dstMac: parseMac('33:33:ff:00:00:99'),
        srcMac: OWNER,
        source: parseIp('::'),
        destination: parseIp('ff02::1:ff00:99'),
        target: VIP6,
      }),
    ],
    icmpv6: true,
  },
  'neighbor advertisement': {
    decode: decodeNeighborAdvertisement,
    encode: encodeNeighborAdvertisement as Target['encode'],
    seeds: [
      captured.LINUX_NEIGHBOR_ADVERTISEMENT,
      captured.LINUX_NEIGHBOR_ADVERTISEMENT_TO_LINK_LOCAL,
      unsolicitedNeighborAdvertisement({ mac: OWNER, ip: VIP6 }),
    ],
    icmpv6: true,
  },
};

/** Builds one fuzz case from the generator: random, truncated, mutated, or extended seeds. */
function makeCase(random: () => number, target: Target): Buffer {
  const int = (below: number): number => Math.floor(random() * below);
  const seed = target.seeds[int(target.seeds.length)]!;
  const kind = int(6);
  if (kind === 0) return Buffer.from(Array.from({ length: int(130) }, () => int(256)));
  if (kind === 1) return Buffer.from(seed.subarray(0, int(seed.length + 1)));
  const frame = Buffer.from(seed);
  const mutations = kind === 2 ? 1 : 1 + int(4);
  for (let i = 0; i < mutations; i++) frame[int(frame.length)] = int(256);
  if (kind === 5 && target.icmpv6 && frame.length >= 58) {
    // Random options after the message, with the payload length and checksum to match.
    const extra = Array.from({ length: int(24) }, () => (random() < 0.5 ? int(3) : int(256)));
    return fixChecksum(withPayload(frame, extra));
  }
  return kind >= 3 && target.icmpv6 && frame.length >= 58 ? fixChecksum(frame) : frame;
}

function withPayload(frame: Buffer, extra: number[]): Buffer {
  const longer = Buffer.concat([frame, Buffer.from(extra)]);
  longer.writeUInt16BE((longer.readUInt16BE(18) + extra.length) & 0xffff, 18);
  return longer;
}

function fixChecksum(frame: Buffer): Buffer {
  const message = frame.subarray(54, Math.min(frame.length, 54 + frame.readUInt16BE(18)));
  if (message.length < 4) return frame;
  message.writeUInt16BE(0, 2);
  message.writeUInt16BE(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), 2);
  return frame;
}

type Outcome = { ok: true } | { ok: false; code: ErrorCode };

/** Decodes `frame`, failing the test with the bytes if anything but a typed decode error escapes. */
function check(target: Target, frame: Buffer, label: string): Outcome {
  let decoded: unknown;
  try {
    decoded = target.decode(frame);
  } catch (error) {
    if (error instanceof MetallbError && DECODE_CODES.has(error.code)) return { ok: false, code: error.code };
    assert.fail(`${label}: ${String(error)} for frame ${frame.toString('hex')}`);
  }
  // Whatever decodes must encode, and decode again to the same thing.
  const encoded = target.encode(decoded as never);
  const message = `${label}: re-encoding changed frame ${frame.toString('hex')}`;
  if (target.bytesRoundTrip) {
    const padded = Buffer.concat([frame, Buffer.alloc(Math.max(0, 60 - frame.length))]);
    assert.equal(encoded.toString('hex'), padded.toString('hex'), message);
  } else {
    assert.deepEqual(target.decode(encoded), decoded, message);
  }
  return { ok: true };
}

describe('frame decoders under fuzzing', () => {
  for (const [index, [name, target]] of Object.entries(TARGETS).entries()) {
    it(`${name}: ${CASES_PER_DECODER} cases yield results or typed errors only`, (t) => {
      const random = seededRandom(SEED + index);
      const outcomes = new Map<string, number>();
      for (let i = 0; i < CASES_PER_DECODER; i++) {
        const outcome = check(target, makeCase(random, target), `${name} case ${i}`);
        const key = outcome.ok ? 'ok' : outcome.code;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
      // A fuzzer that never gets past the first check tests nothing: require both successes and
      // a spread of rejections.
      assert.ok((outcomes.get('ok') ?? 0) > 0, `no case decoded: ${JSON.stringify([...outcomes])}`);
      assert.ok(outcomes.size >= 4, `too few distinct outcomes: ${JSON.stringify([...outcomes])}`);
    });
  }

  it('replays the hostile frames kept in test/fixtures/frames', () => {
    const files = readdirSync(HOSTILE_FRAMES_DIR).filter((file) => file.endsWith('.json'));
    assert.ok(files.length > 0, `no frame fixtures found in ${HOSTILE_FRAMES_DIR}`);
    for (const file of files) {
      const fixture = JSON.parse(readFileSync(join(HOSTILE_FRAMES_DIR, file), 'utf8')) as {
        decoder: string;
        hex: string;
        code: ErrorCode | 'ok';
      };
      const target = TARGETS[fixture.decoder];
      assert.ok(target, `${file}: unknown decoder ${fixture.decoder}`);
      const outcome = check(target, Buffer.from(fixture.hex, 'hex'), file);
      assert.equal(outcome.ok ? 'ok' : outcome.code, fixture.code, file);
    }
  });
});
