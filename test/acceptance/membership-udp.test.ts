/**
 * Three real Membership instances on loopback: real UDP, real timers, the default timings. Measures
 * how long a silent death and a leave take to reach the survivors, and shows that forged, garbled
 * and replayed packets are dropped, counted and change nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { sign } from '../../speaker/membership/auth.ts';
import { Membership, type KnownMember } from '../../speaker/membership/membership.ts';
import { DEFAULT_TIMINGS, detectionBoundMs } from '../../speaker/membership/swim.ts';
import { encodePacket, type Message } from '../../speaker/membership/wire.ts';
import { createLogger } from '../../shared/log.ts';
import { waitFor } from '../harness/wait.ts';

const HOST = '127.0.0.1';
const KEY = Buffer.alloc(32, 0x5a);
const NAMES = ['a', 'b', 'c'] as const;
/** Real timers on a shared CI machine: allow some scheduling slack on top of the protocol bound. */
const SLACK_MS = 150;

const log = createLogger({ test: 'membership-udp' }, 'warn');
const nodes = new Map<string, Membership>();
/** When each node's alive set last lost each member, by performance.now(). */
const lostAt = new Map<string, Map<string, number>>();

const node = (name: string): Membership => nodes.get(name)!;
const sorted = (set: ReadonlySet<string>): string[] => [...set].sort();

async function sendRaw(port: number, bytes: Buffer): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    socket.send(bytes, port, HOST, (e) => (e ? reject(e) : resolve())),
  );
  socket.close();
}

function packet(message: Message, key = KEY): Buffer {
  return sign(
    key,
    encodePacket({ timestampMs: Date.now(), nonce: Math.floor(Math.random() * 2 ** 40), message }),
  );
}

describe('membership over real UDP', () => {
  before(async () => {
    for (const name of NAMES) {
      const membership = new Membership({ nodeName: name, bindAddress: HOST, port: 0, key: KEY, log });
      nodes.set(name, membership);
      const lost = new Map<string, number>();
      lostAt.set(name, lost);
      let previous: ReadonlySet<string> = new Set();
      membership.onChange((alive) => {
        for (const member of previous) if (!alive.has(member)) lost.set(member, performance.now());
        previous = alive;
      });
      await membership.start();
    }
    const members: KnownMember[] = NAMES.map((name) => ({ name, address: HOST, port: node(name).port }));
    // In one synchronous turn, so no node hears a ping before it knows the sender.
    for (const membership of nodes.values()) membership.setKnownMembers(members);
  });

  after(async () => {
    for (const membership of nodes.values()) await membership.stop();
  });

  it('converges: after the initial sync every node sees all three alive', async (t) => {
    const started = performance.now();
    await Promise.all([...nodes.values()].map((m) => m.initialSyncDone()));
    t.diagnostic(`initial sync took ${(performance.now() - started).toFixed(1)} ms`);
    for (const name of NAMES) assert.deepEqual(sorted(node(name).aliveMembers()), ['a', 'b', 'c'], name);
  });

  it('drops and counts forged, garbled, replayed and foreign packets; nothing changes', async () => {
    const a = node('a');
    const port = a.port;
    const before = a.counters().droppedPackets;
    const harmful: Message = {
      type: 'gossip',
      sender: 'b',
      incarnation: 1,
      updates: [{ member: 'c', state: 'left', incarnation: Date.now() + 1e6 }],
    };
    await sendRaw(port, packet(harmful, Buffer.alloc(32, 0x5b))); // wrong key
    await sendRaw(port, Buffer.from('not a membership packet at all, just some bytes'));
    await sendRaw(port, Buffer.alloc(8)); // shorter than a MAC
    await sendRaw(port, packet({ ...harmful, sender: 'mallory', updates: [] })); // right key, unknown sender
    const replayed = packet({ type: 'gossip', sender: 'b', incarnation: 1, updates: [] });
    await sendRaw(port, replayed); // authentic and harmless: an old incarnation, no news
    await sendRaw(port, replayed);
    const expected = {
      ...before,
      bad_mac: before.bad_mac + 2,
      malformed: before.malformed + 1,
      unknown_sender: before.unknown_sender + 1,
      replay: before.replay + 1,
    };
    await waitFor(() => JSON.stringify(a.counters().droppedPackets) === JSON.stringify(expected), {
      description: 'the drops to be counted',
      timeoutMs: 2000,
      intervalMs: 10,
    });
    await new Promise((resolve) => setTimeout(resolve, 3 * DEFAULT_TIMINGS.periodMs));
    for (const name of NAMES) assert.deepEqual(sorted(node(name).aliveMembers()), ['a', 'b', 'c'], name);
    assert.equal(a.members().find((m) => m.name === 'c')?.state, 'alive');
  });

  it(`declares a stopped node (no leave) dead on the others within ${detectionBoundMs(DEFAULT_TIMINGS)} ms`, async (t) => {
    const stoppedAt = performance.now();
    await node('c').stop();
    const bound = detectionBoundMs(DEFAULT_TIMINGS) + SLACK_MS;
    await waitFor(() => ['a', 'b'].every((name) => lostAt.get(name)!.has('c')), {
      description: 'a and b to drop c',
      timeoutMs: bound + 1000,
      intervalMs: 5,
    });
    for (const name of ['a', 'b']) {
      const took = lostAt.get(name)!.get('c')! - stoppedAt;
      t.diagnostic(`silent death of c seen by ${name} after ${took.toFixed(1)} ms`);
      assert.ok(took <= bound, `${name} took ${took} ms`);
      assert.deepEqual(sorted(node(name).aliveMembers()), ['a', 'b']);
      assert.equal(
        node(name)
          .members()
          .find((m) => m.name === 'c')?.state,
        'dead',
      );
    }
    assert.ok(node('a').counters().probesFailed > 0);
  });

  it('hands over within a few ms when a node leaves', async (t) => {
    const leftAt = performance.now();
    await node('b').leave();
    await waitFor(() => lostAt.get('a')!.has('b'), {
      description: 'a to drop b',
      timeoutMs: 1000,
      intervalMs: 1,
    });
    const took = lostAt.get('a')!.get('b')! - leftAt;
    t.diagnostic(`leave of b seen by a after ${took.toFixed(1)} ms`);
    assert.ok(took < 50, `took ${took} ms`);
    assert.equal(
      node('a')
        .members()
        .find((m) => m.name === 'b')?.state,
      'left',
    );
    await node('b').stop();
    assert.deepEqual(sorted(node('a').aliveMembers()), ['a']);
  });
});
