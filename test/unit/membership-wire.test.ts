/**
 * The membership packet format, its authentication and replay protection: byte fixtures for each
 * message type, tampering and replays refused, and a seeded fuzz of the decoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetallbError } from '../../shared/errors.ts';
import { sign, verify } from '../../speaker/membership/auth.ts';
import { ReplayGuard } from '../../speaker/membership/replay-guard.ts';
import {
  decodePacket,
  encodedLength,
  encodePacket,
  MAX_BODY_BYTES,
  type Packet,
} from '../../speaker/membership/wire.ts';
import { seededRandom } from '../harness/prng.ts';

/** Hex with `#` comments and any whitespace, so fixtures can be annotated field by field. */
function hex(annotated: string): Buffer {
  return Buffer.from(
    annotated
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

const TIMESTAMP = 1_700_000_000_000; // 0x018bcfe56800

const FIXTURES: { name: string; packet: Packet; bytes: Buffer }[] = [
  {
    name: 'ping',
    packet: {
      timestampMs: TIMESTAMP,
      nonce: 42,
      message: {
        type: 'ping',
        sender: 'node-a',
        incarnation: 1000,
        seq: 7,
        target: 'node-b',
        updates: [{ member: 'node-c', state: 'suspect', incarnation: 1001 }],
      },
    },
    bytes: hex(`
      01                    # version 1
      01                    # type 1: ping
      01 8b cf e5 68 00     # timestamp 1700000000000 ms
      00 00 00 00 00 2a     # nonce 42
      00 00 00 00 03 e8     # sender incarnation 1000
      06 6e 6f 64 65 2d 61  # sender: 6 bytes "node-a"
      00 00 00 07           # seq 7
      06 6e 6f 64 65 2d 62  # target: "node-b"
      01                    # 1 update:
      02                    #   state 2: suspect
      00 00 00 00 03 e9     #   incarnation 1001
      06 6e 6f 64 65 2d 63  #   member "node-c"
    `),
  },
  {
    name: 'ack',
    packet: {
      timestampMs: TIMESTAMP,
      nonce: 43,
      message: { type: 'ack', sender: 'node-b', incarnation: 2000, seq: 7, target: 'node-b', updates: [] },
    },
    bytes: hex(`
      01                    # version 1
      02                    # type 2: ack
      01 8b cf e5 68 00     # timestamp
      00 00 00 00 00 2b     # nonce 43
      00 00 00 00 07 d0     # sender incarnation 2000
      06 6e 6f 64 65 2d 62  # sender "node-b"
      00 00 00 07           # seq 7: answers ping 7
      06 6e 6f 64 65 2d 62  # target "node-b": who is confirmed alive (the sender, for a direct ack)
      00                    # no updates
    `),
  },
  {
    name: 'ping-req',
    packet: {
      timestampMs: TIMESTAMP,
      nonce: 44,
      message: {
        type: 'ping-req',
        sender: 'node-a',
        incarnation: 1000,
        seq: 0xfffffffe,
        target: 'node-c',
        updates: [],
      },
    },
    bytes: hex(`
      01                    # version 1
      03                    # type 3: ping-req
      01 8b cf e5 68 00     # timestamp
      00 00 00 00 00 2c     # nonce 44
      00 00 00 00 03 e8     # sender incarnation 1000
      06 6e 6f 64 65 2d 61  # sender "node-a"
      ff ff ff fe           # seq 4294967294: the helper acks with it
      06 6e 6f 64 65 2d 63  # target "node-c": please ping it for me
      00                    # no updates
    `),
  },
  {
    name: 'leave',
    packet: {
      timestampMs: TIMESTAMP,
      nonce: 0xffffffffffff,
      message: { type: 'leave', sender: 'node-b', incarnation: 2001, updates: [] },
    },
    bytes: hex(`
      01                    # version 1
      04                    # type 4: leave (no body: the sender leaves, at its incarnation)
      01 8b cf e5 68 00     # timestamp
      ff ff ff ff ff ff     # nonce 2^48-1
      00 00 00 00 07 d1     # sender incarnation 2001
      06 6e 6f 64 65 2d 62  # sender "node-b"
      00                    # no updates
    `),
  },
  {
    name: 'gossip',
    packet: {
      timestampMs: TIMESTAMP,
      nonce: 45,
      message: {
        type: 'gossip',
        sender: 'node-a',
        incarnation: 1000,
        updates: [
          { member: 'node-b', state: 'alive', incarnation: 2002 },
          { member: 'node-c', state: 'dead', incarnation: 1001 },
          { member: 'x', state: 'left', incarnation: 0 },
        ],
      },
    },
    bytes: hex(`
      01                    # version 1
      05                    # type 5: gossip (updates only)
      01 8b cf e5 68 00     # timestamp
      00 00 00 00 00 2d     # nonce 45
      00 00 00 00 03 e8     # sender incarnation 1000
      06 6e 6f 64 65 2d 61  # sender "node-a"
      03                    # 3 updates:
      01                    #   alive
      00 00 00 00 07 d2     #   incarnation 2002
      06 6e 6f 64 65 2d 62  #   "node-b"
      03                    #   dead
      00 00 00 00 03 e9     #   incarnation 1001
      06 6e 6f 64 65 2d 63  #   "node-c"
      04                    #   left
      00 00 00 00 00 00     #   incarnation 0
      01 78                 #   "x"
    `),
  },
];

const fixture = (name: string): { packet: Packet; bytes: Buffer } => FIXTURES.find((f) => f.name === name)!;

function assertCode(action: () => unknown, code: string, path?: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof MetallbError, `not a MetallbError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  });
}

/** A copy of `bytes` with `byte` at `offset`. */
function patched(bytes: Buffer, offset: number, byte: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = byte;
  return copy;
}

describe('membership wire format', () => {
  for (const { name, packet, bytes } of FIXTURES) {
    it(`encodes and decodes a ${name} byte for byte`, () => {
      assert.deepEqual(encodePacket(packet), bytes);
      assert.deepEqual(decodePacket(bytes), packet);
      assert.equal(encodedLength(packet.message), bytes.length);
    });
  }

  it('refuses every truncation with MEMBERSHIP_TRUNCATED', () => {
    const { bytes } = fixture('ping');
    for (let length = 0; length < bytes.length; length++) {
      assertCode(() => decodePacket(bytes.subarray(0, length)), 'MEMBERSHIP_TRUNCATED');
    }
  });

  it('refuses bad fields with stable codes and the field path', () => {
    const { bytes } = fixture('ping');
    assertCode(() => decodePacket(patched(bytes, 0, 2)), 'MEMBERSHIP_VERSION', 'version');
    assertCode(() => decodePacket(patched(bytes, 1, 0)), 'MEMBERSHIP_UNKNOWN_TYPE', 'type');
    assertCode(() => decodePacket(patched(bytes, 1, 6)), 'MEMBERSHIP_UNKNOWN_TYPE', 'type');
    assertCode(() => decodePacket(patched(bytes, 20, 0)), 'MEMBERSHIP_INVALID_FIELD', 'sender'); // empty name
    assertCode(() => decodePacket(patched(bytes, 21, 0x0a)), 'MEMBERSHIP_INVALID_FIELD', 'sender'); // newline
    assertCode(() => decodePacket(patched(bytes, 21, 0xc3)), 'MEMBERSHIP_INVALID_FIELD', 'sender'); // not ASCII
    assertCode(() => decodePacket(patched(bytes, 39, 5)), 'MEMBERSHIP_INVALID_FIELD', 'updates[0].state');
    assertCode(() => decodePacket(Buffer.concat([bytes, Buffer.of(0)])), 'MEMBERSHIP_TRAILING_BYTES');
    assertCode(() => decodePacket(Buffer.alloc(MAX_BODY_BYTES + 1, 1)), 'MEMBERSHIP_TOO_LARGE');
  });

  it('refuses to encode what it could not decode', () => {
    const { packet } = fixture('ack');
    const message = packet.message;
    const encode = (change: object) => () => encodePacket({ ...packet, message: { ...message, ...change } });
    assertCode(encode({ sender: '' }), 'MEMBERSHIP_INVALID_FIELD', 'sender');
    assertCode(encode({ sender: 'nöde' }), 'MEMBERSHIP_INVALID_FIELD', 'sender');
    assertCode(encode({ target: 'a'.repeat(254) }), 'MEMBERSHIP_INVALID_FIELD', 'target');
    assertCode(encode({ incarnation: -1 }), 'MEMBERSHIP_INVALID_FIELD', 'incarnation');
    assertCode(encode({ incarnation: 2 ** 48 }), 'MEMBERSHIP_INVALID_FIELD', 'incarnation');
    assertCode(encode({ seq: 2 ** 32 }), 'MEMBERSHIP_INVALID_FIELD', 'seq');
    assertCode(encode({ seq: 1.5 }), 'MEMBERSHIP_INVALID_FIELD', 'seq');
    const many = Array.from({ length: 256 }, () => ({ member: 'n', state: 'alive', incarnation: 1 }));
    assertCode(encode({ updates: many }), 'MEMBERSHIP_TOO_LARGE', 'updates');
    const long = Array.from({ length: 5 }, () => ({
      member: 'n'.repeat(253),
      state: 'alive',
      incarnation: 1,
    }));
    assertCode(encode({ updates: long }), 'MEMBERSHIP_TOO_LARGE', 'message');
  });

  it('decodes only typed errors or canonical packets from 10 000 random and mutated inputs', () => {
    const random = seededRandom(7946);
    const byte = () => Math.floor(random() * 256);
    let decoded = 0;
    for (let i = 0; i < 10_000; i++) {
      const input = i % 4 === 0 ? randomBytes(random, byte) : mutate(FIXTURES, random, byte);
      let packet: Packet;
      try {
        packet = decodePacket(input);
      } catch (error) {
        assert.ok(
          error instanceof MetallbError && error.code.startsWith('MEMBERSHIP_'),
          `input ${input.toString('hex')}`,
        );
        continue;
      }
      // One encoding per value: what decodes re-encodes to the very same bytes.
      assert.deepEqual(encodePacket(packet), input, `input ${input.toString('hex')}`);
      decoded += 1;
    }
    assert.ok(decoded > 500, `mutations that still decode exercise the happy path too (${decoded})`);
  });
});

describe('membership packet authentication', () => {
  const key = Buffer.alloc(32, 7);
  const body = fixture('gossip').bytes;

  it('accepts what the same key signed, and returns the body', () => {
    const packet = sign(key, body);
    assert.equal(packet.length, body.length + 32);
    assert.deepEqual(verify(key, packet), body);
  });

  it('refuses any flipped bit, in the body or in the MAC', () => {
    const packet = sign(key, body);
    for (let bit = 0; bit < packet.length * 8; bit++) {
      const tampered = Buffer.from(packet);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(verify(key, tampered), undefined, `bit ${bit}`);
    }
  });

  it('refuses another key, a missing MAC and truncated packets', () => {
    const packet = sign(key, body);
    assert.equal(verify(Buffer.alloc(32, 8), packet), undefined);
    assert.equal(verify(key, body), undefined);
    assert.equal(verify(key, packet.subarray(0, 31)), undefined);
    assert.equal(verify(key, packet.subarray(1)), undefined);
  });
});

describe('membership replay guard', () => {
  it('accepts a packet once, refuses it again within the window', () => {
    const guard = new ReplayGuard(5000);
    assert.equal(guard.check('a', 1, 10_000, 10_000), 'fresh');
    assert.equal(guard.check('a', 1, 10_000, 10_500), 'duplicate');
    assert.equal(guard.check('b', 1, 10_000, 10_500), 'fresh', 'nonces are per sender');
    assert.equal(guard.check('a', 2, 10_000, 10_500), 'fresh');
  });

  it('refuses timestamps outside the window either way (old recordings, skewed clocks)', () => {
    const guard = new ReplayGuard(5000);
    assert.equal(guard.check('a', 1, 10_000, 15_000), 'fresh', 'the window is inclusive');
    assert.equal(guard.check('a', 2, 10_000, 15_001), 'stale');
    assert.equal(guard.check('a', 3, 20_002, 15_001), 'stale');
  });

  it('forgets nonces once their packets would be stale anyway, and stays bounded', () => {
    const guard = new ReplayGuard(5000, 3);
    for (let nonce = 0; nonce < 3; nonce++) assert.equal(guard.check('a', nonce, 0, 0), 'fresh');
    assert.equal(guard.check('a', 3, 0, 0), 'fresh', 'the oldest is evicted at capacity');
    assert.equal(guard.check('a', 0, 0, 0), 'fresh');
    assert.equal(guard.check('a', 3, 0, 0), 'duplicate');
    assert.equal(guard.check('a', 3, 0, 5001), 'stale');
  });
});

function randomBytes(random: () => number, byte: () => number): Buffer {
  const bytes = Buffer.alloc(Math.floor(random() * 80));
  for (let i = 0; i < bytes.length; i++) bytes[i] = byte();
  // Mostly a valid version and type, so the fuzz reaches the fields behind them.
  if (bytes.length > 1 && random() < 0.8) {
    bytes[0] = 1;
    bytes[1] = 1 + Math.floor(random() * 5);
  }
  return bytes;
}

/** A fixture with one to three random edits: overwrite, insert, delete or truncate. */
function mutate(fixtures: typeof FIXTURES, random: () => number, byte: () => number): Buffer {
  const source = fixtures[Math.floor(random() * fixtures.length)]!.bytes;
  let bytes = [...source];
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (bytes.length + 1));
    const kind = random();
    if (kind < 0.4) bytes[Math.min(at, bytes.length - 1)] = byte();
    else if (kind < 0.6) bytes.splice(at, 0, byte());
    else if (kind < 0.8) bytes.splice(at, 1);
    else bytes = bytes.slice(0, at);
  }
  return Buffer.from(bytes);
}
