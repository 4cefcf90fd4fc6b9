/**
 * The SWIM state machine in a simulated network, in fake time: a tiny discrete-event loop delivers
 * every message through the real wire codec after a per-link delay, or drops it. Everything is
 * seeded, so each run is the same run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_TIMINGS,
  detectionBoundMs,
  Swim,
  type LocalState,
  type MemberView,
} from '../../speaker/membership/swim.ts';
import { decodePacket, encodePacket, type Message } from '../../speaker/membership/wire.ts';
import type { MetallbError } from '../../shared/errors.ts';
import { seededRandom } from '../harness/prng.ts';

const { periodMs: PERIOD, suspicionTimeoutMs: SUSPICION, reconnectIntervalMs: RECONNECT } = DEFAULT_TIMINGS;
const BOUND = detectionBoundMs(DEFAULT_TIMINGS);
const DELAY = 0.2;
const NAMES = ['a', 'b', 'c', 'd', 'e'];

/** Fake time: events run in time order (ties in scheduling order). */
class World {
  now = 0;
  readonly random: () => number;
  private readonly events: { at: number; order: number; run: () => void }[] = [];
  private order = 0;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  schedule(at: number, run: () => void): void {
    const event = { at: Math.max(at, this.now), order: this.order++, run };
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = this.events[middle]!;
      if (other.at < event.at || (other.at === event.at && other.order < event.order)) low = middle + 1;
      else high = middle;
    }
    this.events.splice(low, 0, event);
  }

  runUntil(time: number): void {
    while (this.events.length > 0 && this.events[0]!.at <= time) {
      const event = this.events.shift()!;
      this.now = event.at;
      event.run();
    }
    this.now = time;
  }
}

interface LinkConfig {
  /** Probability that a packet on this link is lost. */
  loss?: number;
  delayMs?: number;
}

class Network {
  readonly nodes = new Map<string, SimNode>();
  private readonly links = new Map<string, LinkConfig>();
  /** Applies to links without a config of their own. */
  defaultLink: LinkConfig = {};

  constructor(private readonly world: World) {}

  setLink(from: string, to: string, config: LinkConfig): void {
    this.links.set(`${from}>${to}`, config);
  }

  clearLinks(): void {
    this.links.clear();
  }

  send(from: string, to: string, message: Message): void {
    // Through the real codec: every field the protocol relies on must survive the wire.
    const bytes = encodePacket({ timestampMs: 0, nonce: 0, message });
    const link = this.links.get(`${from}>${to}`) ?? this.defaultLink;
    if (this.world.random() < (link.loss ?? 0)) return;
    this.world.schedule(this.world.now + (link.delayMs ?? DELAY), () =>
      this.nodes.get(to)?.deliver(decodePacket(bytes).message),
    );
  }
}

/** One speaker: a Swim plus what its event loop would do (and fail to do while paused). */
class SimNode {
  readonly swim: Swim;
  readonly changes: { at: number; alive: ReadonlySet<string> }[] = [];
  readonly transitions: { at: number; member: MemberView; previous: LocalState }[] = [];
  synced = false;
  private paused = false;
  private crashed = false;
  private inbox: Message[] = [];
  private wakeToken = 0;

  constructor(
    private readonly world: World,
    private readonly network: Network,
    readonly name: string,
    incarnation: number,
  ) {
    this.swim = new Swim({
      self: name,
      incarnation,
      now: () => world.now,
      send: (to, message) => {
        if (!this.crashed) network.send(name, to, message);
      },
      random: world.random,
    });
    this.swim.onChange((alive) => this.changes.push({ at: world.now, alive }));
    this.swim.onTransition((member, previous) => this.transitions.push({ at: world.now, member, previous }));
    void this.swim.initialSyncDone().then(() => (this.synced = true));
    network.nodes.set(name, this);
  }

  start(members: readonly string[]): void {
    this.swim.setKnownMembers(members);
    this.swim.start();
    this.rearm();
  }

  deliver(message: Message): void {
    if (this.crashed) return;
    if (this.paused) {
      this.inbox.push(message);
      return;
    }
    this.swim.receive(message);
    this.rearm();
  }

  /** The event loop blocks: packets queue in the socket, timers fire late. */
  pause(ms: number): void {
    this.paused = true;
    this.world.schedule(this.world.now + ms, () => {
      this.paused = false;
      // As membership.ts does: queued packets are read before the overdue timer acts.
      for (const message of this.inbox.splice(0)) this.swim.receive(message);
      this.swim.tick();
      this.rearm();
    });
  }

  /** Silent death: no more packets in or out, no leave. */
  crash(): void {
    this.crashed = true;
  }

  leave(): Promise<void> {
    const done = this.swim.leave();
    this.rearm();
    return done;
  }

  alive(): string[] {
    return [...this.swim.aliveMembers()].sort();
  }

  /** When `member` last left our alive set at or after `since`, or undefined. */
  lostAt(member: string, since: number): number | undefined {
    return this.changes.find((change) => change.at >= since && !change.alive.has(member))?.at;
  }

  private rearm(): void {
    const token = ++this.wakeToken;
    const at = this.swim.nextWakeAt();
    if (at === Infinity) return;
    this.world.schedule(at, () => {
      if (token !== this.wakeToken || this.paused || this.crashed) return;
      this.swim.tick();
      this.rearm();
    });
  }
}

/** Nodes starting a few ms apart (as a DaemonSet rolls out), each knowing all names. */
function cluster(seed: number, names = NAMES, starts = [0, 3, 7, 11, 13]) {
  const world = new World(seed);
  const network = new Network(world);
  const nodes = new Map(names.map((name) => [name, new SimNode(world, network, name, 1000)]));
  names.forEach((name, i) => world.schedule(starts[i] ?? 0, () => nodes.get(name)!.start(names)));
  const node = (name: string): SimNode => nodes.get(name)!;
  return { world, network, nodes, node };
}

/** Flushes promise callbacks (initialSyncDone) queued by the synchronous simulation. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function changesAfter(nodes: Iterable<SimNode>, since: number): string[] {
  return [...nodes].flatMap((node) =>
    node.changes.filter((c) => c.at >= since).map((c) => `${node.name}@${c.at}: ${[...c.alive]}`),
  );
}

function transitionsTo(nodes: Iterable<SimNode>, state: LocalState, since = 0): string[] {
  return [...nodes].flatMap((node) =>
    node.transitions
      .filter((t) => t.at >= since && t.member.state === state && t.member.name !== node.name)
      .map((t) => `${node.name}@${t.at.toFixed(1)}: ${t.member.name} ${t.previous}->${state}`),
  );
}

describe('swim in a simulated network', () => {
  it('converges: everyone alive everywhere, initial sync within one period of the last start', async () => {
    const { world, nodes } = cluster(1);
    world.runUntil(13 + PERIOD + 1);
    await settled();
    for (const node of nodes.values()) {
      assert.deepEqual(node.alive(), NAMES, node.name);
      assert.ok(node.synced, `${node.name} finished its initial round`);
      assert.ok(node.swim.members().every((m) => m.state === 'alive'));
    }
    // Late starters reach everyone with their first pings: nobody changes its mind afterwards.
    world.runUntil(5000);
    assert.deepEqual(changesAfter(nodes.values(), 13 + 1), []);
  });

  it('a member that never answered is not alive; it is alive everywhere one trip after it starts', async () => {
    const { world, node, nodes } = cluster(2, ['a', 'b', 'c'], [0, 0, 1e9]);
    world.runUntil(PERIOD + 1);
    await settled();
    assert.ok(node('a').synced && node('b').synced, 'an unanswered probe completes the round too');
    assert.deepEqual(node('a').alive(), ['a', 'b']);
    assert.equal(
      node('a')
        .swim.members()
        .find((m) => m.name === 'c')?.state,
      'unknown',
    );
    world.runUntil(2000);
    assert.deepEqual(node('a').alive(), ['a', 'b'], 'reconnect pings to c get no answer');
    node('c').start(['a', 'b', 'c']);
    world.runUntil(2000 + 2 * DELAY + 0.01);
    for (const n of nodes.values()) assert.deepEqual(n.alive(), ['a', 'b', 'c'], n.name);
  });

  it('does not start its initial round on an empty member list (the Node list is not loaded yet)', async () => {
    const world = new World(3);
    const network = new Network(world);
    const a = new SimNode(world, network, 'a', 1);
    a.start([]);
    world.runUntil(5 * PERIOD);
    await settled();
    assert.equal(a.synced, false);
    a.swim.setKnownMembers(['a']);
    await settled();
    assert.equal(a.synced, true, 'a single-node cluster is synced at once');
  });

  for (const [i, phase] of [0, 17, 33, 58, 91].entries()) {
    it(`declares a silent death dead on every survivor within ${BOUND} ms (death at phase ${phase} ms)`, () => {
      const { world, node, nodes } = cluster(10 + i);
      const deathAt = 1000 + phase;
      world.runUntil(deathAt);
      node('c').crash();
      world.runUntil(deathAt + 2000);
      const survivors = [...nodes.values()].filter((n) => n.name !== 'c');
      const detected = survivors.map((n) => n.lostAt('c', deathAt));
      for (const [j, at] of detected.entries()) {
        assert.ok(at !== undefined, `${survivors[j]!.name} never dropped c`);
        const took = at - deathAt;
        // Never before a full suspicion timeout, never after the bound (plus the push's trip).
        assert.ok(took >= SUSPICION && took <= BOUND + DELAY + 1e-9, `${survivors[j]!.name} took ${took} ms`);
      }
      const times = detected as number[];
      assert.ok(
        Math.max(...times) - Math.min(...times) <= DELAY + 1e-9,
        `agreement within one delay: ${times}`,
      );
      for (const n of survivors) assert.deepEqual(n.alive(), ['a', 'b', 'd', 'e']);
      assert.deepEqual(
        transitionsTo(survivors, 'dead').filter((t) => !t.includes(' c ')),
        [],
      );
    });
  }

  it('keeps a member alive when only the link to it is broken (indirect probes)', () => {
    const { world, network, nodes, node } = cluster(20, ['a', 'b', 'c'], [0, 1, 2]);
    world.runUntil(500);
    network.setLink('a', 'b', { loss: 1 });
    world.runUntil(20_000);
    assert.deepEqual(changesAfter(nodes.values(), 500), []);
    assert.deepEqual(transitionsTo(nodes.values(), 'suspect'), []);
    assert.equal(node('a').swim.probesFailed, 0);
    assert.deepEqual(node('a').alive(), ['a', 'b', 'c']);
  });

  it('survives 10% loss on every link for a minute: nothing is ever declared dead', () => {
    const { world, network, nodes } = cluster(21);
    world.runUntil(500);
    network.defaultLink = { loss: 0.1 };
    world.runUntil(60_500);
    assert.deepEqual(transitionsTo(nodes.values(), 'dead'), []);
    assert.deepEqual(changesAfter(nodes.values(), 500), []);
  });

  it('does not suspect a node whose event loop pauses for 60 ms, whatever the phase', () => {
    const { world, node, nodes } = cluster(30);
    world.runUntil(1000);
    for (let i = 0; i < 20; i++) {
      world.runUntil(1000 + i * 237);
      node('b').pause(60);
    }
    world.runUntil(7000);
    assert.deepEqual(transitionsTo(nodes.values(), 'suspect'), []);
    assert.deepEqual(changesAfter(nodes.values(), 1000), []);
  });

  it('never declares dead a node paused for 300 ms: it refutes the suspicion when it wakes', () => {
    const { world, node, nodes } = cluster(31);
    for (let i = 0; i < 10; i++) {
      world.runUntil(1000 + i * 1013);
      node('b').pause(300);
    }
    world.runUntil(12_000);
    assert.ok(transitionsTo(nodes.values(), 'suspect').length > 0, 'b was suspected');
    assert.deepEqual(transitionsTo(nodes.values(), 'dead'), []);
    assert.deepEqual(changesAfter(nodes.values(), 1000), []);
  });

  it('refutes a suspicion: the suspect raises its incarnation and never leaves anyone alive set', () => {
    const { world, network, node, nodes } = cluster(40);
    world.runUntil(1000);
    for (const from of NAMES) network.setLink(from, 'b', { loss: 1 });
    world.runUntil(1150);
    network.clearLinks();
    world.runUntil(3000);
    assert.ok(
      transitionsTo(nodes.values(), 'suspect').some((t) => t.includes(' b ')),
      'b was suspected',
    );
    assert.ok(
      node('b').transitions.some((t) => t.member.name === 'b' && t.previous === 'suspect'),
      'b refuted',
    );
    for (const n of nodes.values()) {
      assert.deepEqual(
        n.swim.members().find((m) => m.name === 'b'),
        { name: 'b', state: 'alive', incarnation: 1001 },
      );
    }
    assert.deepEqual(transitionsTo(nodes.values(), 'dead'), []);
    assert.deepEqual(changesAfter(nodes.values(), 1000), []);
  });

  it('hands over at once on leave, and the silence that follows is not a death', async () => {
    const { world, node, nodes } = cluster(50);
    world.runUntil(1000);
    let left = false;
    void node('b')
      .leave()
      .then(() => (left = true));
    world.runUntil(1000 + DELAY);
    const others = [...nodes.values()].filter((n) => n.name !== 'b');
    for (const n of others) {
      assert.equal(n.lostAt('b', 1000), 1000 + DELAY, n.name);
      assert.equal(n.swim.members().find((m) => m.name === 'b')?.state, 'left');
    }
    world.runUntil(1100);
    await settled();
    assert.ok(left, 'leave() resolves after its repeats');
    node('b').crash();
    world.runUntil(5000);
    assert.deepEqual(transitionsTo(others, 'dead'), []);
    assert.deepEqual(changesAfter(others, 1001), []);
  });

  it('brings a restarted node back at once: its new incarnation outranks its death', () => {
    const { world, network, node, nodes } = cluster(60);
    world.runUntil(1000);
    node('b').crash();
    world.runUntil(2000);
    for (const n of nodes.values()) if (n.name !== 'b') assert.ok(!n.alive().includes('b'));
    const reborn = new SimNode(world, network, 'b', 5000);
    reborn.start(NAMES);
    world.runUntil(2000 + 2 * DELAY);
    for (const n of network.nodes.values()) assert.deepEqual(n.alive(), NAMES, n.name);
  });

  it('brings back a restarted node whose clock went backwards, by refutation', () => {
    const { world, network, node } = cluster(61);
    world.runUntil(1000);
    void node('b').leave();
    world.runUntil(1100);
    node('b').crash();
    const reborn = new SimNode(world, network, 'b', 5);
    reborn.start(NAMES);
    // Its pings (incarnation 5) lose to "left at 1000"; the acks say so; it refutes with 1001.
    world.runUntil(1100 + 3 * DELAY + 1e-9);
    for (const n of network.nodes.values()) assert.deepEqual(n.alive(), NAMES, n.name);
    assert.equal(
      node('a')
        .swim.members()
        .find((m) => m.name === 'b')?.incarnation,
      1001,
    );
  });

  it('heals a partition: both sides see each other dead, then alive again after it ends', () => {
    const { world, network, nodes, node } = cluster(70);
    world.runUntil(1000);
    for (const x of ['a', 'b']) {
      for (const y of ['c', 'd', 'e']) {
        network.setLink(x, y, { loss: 1 });
        network.setLink(y, x, { loss: 1 });
      }
    }
    world.runUntil(2000);
    assert.deepEqual(node('a').alive(), ['a', 'b']);
    assert.deepEqual(node('d').alive(), ['c', 'd', 'e']);
    network.clearLinks();
    world.runUntil(3000 + RECONNECT + 3 * PERIOD);
    for (const n of nodes.values()) assert.deepEqual(n.alive(), NAMES, n.name);
  });

  it('ignores messages from unknown senders and pings meant for another member', () => {
    const { world, node } = cluster(80, ['a', 'b'], [0, 0]);
    world.runUntil(500);
    const a = node('a').swim;
    const gossip: Message = {
      type: 'gossip',
      sender: 'mallory',
      incarnation: 1,
      updates: [{ member: 'b', state: 'dead', incarnation: 1_000_000 }],
    };
    assert.equal(a.receive(gossip), 'unknown_sender');
    assert.equal(a.receive({ ...gossip, sender: 'a' }), 'unknown_sender', 'our own name from elsewhere');
    const ping: Message = { type: 'ping', sender: 'b', incarnation: 1, seq: 1, target: 'c', updates: [] };
    assert.equal(a.receive(ping), 'misaddressed');
    assert.deepEqual(node('a').alive(), ['a', 'b']);
  });

  it('refuses inconsistent timings with a typed error', () => {
    const make = (timings: object) => () =>
      new Swim({ self: 'a', incarnation: 1, now: () => 0, send: () => {}, timings });
    assert.throws(
      make({ probeTimeoutMs: 100, periodMs: 100 }),
      (e: MetallbError) => e.code === 'MEMBERSHIP_CONFIG',
    );
    assert.throws(
      make({ suspicionTimeoutMs: -1 }),
      (e: MetallbError) => e.path === 'timings.suspicionTimeoutMs',
    );
  });
});
