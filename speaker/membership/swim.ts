/**
 * SWIM membership (Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent Infection-style Process
 * Group Membership Protocol", 2002) with the cheap parts of Lifeguard (Dadgar et al., 2018), as a
 * pure state machine: time comes from an injected clock, packets leave through an injected `send`,
 * and the owner calls tick() at nextWakeAt(). membership.ts is the I/O shell around it.
 *
 * Each node holds every known member (the list comes from Kubernetes Nodes) in one of the states
 * unknown (never heard from), alive, suspect, dead or left, at an incarnation number. A member that
 * misses a whole probe round (direct ping, then pings through k helpers) becomes suspect; suspect
 * members still count as alive, and are demoted only when the suspicion times out unrefuted, so one
 * slow answer never moves an address. A member refutes a suspicion about itself by raising its
 * incarnation; news rides on the probes themselves (dissemination.ts).
 *
 * Where SWIM leaves the time to agree open, we push: a member declared dead, a refutation and a
 * leave are sent at once to every member, so all healthy nodes change their alive set within one
 * network delay of each other. Layer-2 election needs that: two nodes disagreeing on who is alive
 * both announce an address.
 *
 * The owner must hand over received packets before it calls tick() for a deadline that passed while
 * it was busy (membership.ts defers tick() behind pending I/O). Otherwise a node whose own event loop
 * stalled would judge the acks it has not read yet as missing, and suspect healthy peers.
 */
import { MetallbError } from '../../shared/errors.ts';
import { Dissemination } from './dissemination.ts';
import { ProbeOrder, shuffle } from './probe-order.ts';
import {
  encodedLength,
  MAX_BODY_BYTES,
  MAX_UINT48,
  MAX_UPDATES,
  updateLength,
  type MemberState,
  type Message,
  type ProbeMessage,
  type Update,
} from './wire.ts';

export interface Timings {
  /** How often probes start. Each member is probed at least once per period in small clusters. */
  readonly periodMs: number;
  /** Wait for a direct ack before asking helpers to ping-req; the rest of the period is theirs. */
  readonly probeTimeoutMs: number;
  /** How long a suspect may refute before it is declared dead. */
  readonly suspicionTimeoutMs: number;
  /** How often members that are not alive are pinged, so a healed partition rejoins. */
  readonly reconnectIntervalMs: number;
  /** Spacing of the repeated LEAVE packets. */
  readonly leaveIntervalMs: number;
}

export interface Tuning {
  /** Helpers asked to ping-req a member that missed its direct ping (SWIM's k). */
  readonly indirectProbes: number;
  /** Members probed per period; a cluster of up to probesPerPeriod + 1 nodes probes everyone. */
  readonly probesPerPeriod: number;
  /** An update is piggybacked retransmitMultiplier * ceil(log2(n + 1)) times (SWIM's λ log n). */
  readonly retransmitMultiplier: number;
  /** LEAVE packets sent to each member on leave(). */
  readonly leaveRepeats: number;
}

/**
 * Chosen for a LAN, where a round trip takes well under a millisecond and only a busy host is slow:
 * - period 100 ms: each node sends 10 probes/s to each of up to 4 members, a few kB/s.
 * - probe timeout 40 ms: a host whose event loop lags 40 ms still answers directly; the remaining
 *   60 ms carry the four-hop indirect round trip that tells a lossy link from a dead node.
 * - suspicion 250 ms: the suspect is pinged when suspected and every period after (the buddy
 *   system: each ping says "you are suspected"), so it has three chances to refute. A node paused
 *   for up to about 350 ms is suspected at worst, never declared dead.
 * A silent death is then declared everywhere between period + suspicion (350 ms) and
 * 2 * period + suspicion (450 ms) after it happened: see detectionBoundMs.
 */
export const DEFAULT_TIMINGS: Timings = {
  periodMs: 100,
  probeTimeoutMs: 40,
  suspicionTimeoutMs: 250,
  reconnectIntervalMs: 1000,
  leaveIntervalMs: 10,
};

/**
 * Probing 4 members per period covers every member of a cluster of up to 5 nodes each period (the
 * detection bound is then deterministic); beyond that traffic per node stays constant and each
 * member is still probed about 4 times per period across the cluster. 3 helpers, as SWIM suggests.
 * Retransmission is a backstop only (important news is pushed), so λ = 3 is plenty.
 */
export const DEFAULT_TUNING: Tuning = {
  indirectProbes: 3,
  probesPerPeriod: 4,
  retransmitMultiplier: 3,
  leaveRepeats: 3,
};

/**
 * Upper bound from a silent death to DEAD on every survivor, when every member is probed every
 * period: the next probe starts within a period, fails at the end of the one after, and the
 * suspicion then runs out. Network delay comes on top.
 */
export function detectionBoundMs(timings: Timings): number {
  return 2 * timings.periodMs + timings.suspicionTimeoutMs;
}

/** Our knowledge of a member: a wire state, or unknown if it never answered and nobody vouched for it. */
export type LocalState = MemberState | 'unknown';

export interface MemberView {
  readonly name: string;
  readonly state: LocalState;
  /** Undefined while unknown. */
  readonly incarnation: number | undefined;
}

/** Why a message was ignored, for the drop counters: not ours to act on. */
export type ReceiveResult = 'ok' | 'unknown_sender' | 'misaddressed';

export interface SwimOptions {
  readonly self: string;
  /**
   * The starting incarnation. Pass wall-clock milliseconds: a restarted node then outranks the
   * dead or left record of its previous life at once (a clock that went back is refuted instead).
   */
  readonly incarnation: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly send: (to: string, message: Message) => void;
  readonly random?: () => number;
  readonly timings?: Partial<Timings>;
  readonly tuning?: Partial<Tuning>;
}

type Body =
  | { readonly type: 'ping' | 'ack' | 'ping-req'; readonly seq: number; readonly target: string }
  | { readonly type: 'leave' | 'gossip' };

interface MemberRecord {
  readonly name: string;
  state: LocalState;
  /** -1 while unknown, so that any news supersedes it. */
  incarnation: number;
  /** When an unrefuted suspicion turns into death; Infinity unless suspect. */
  suspectDeadline: number;
  lastProbeAt: number;
}

interface Probe {
  readonly target: string;
  /** The target's incarnation when the probe started: what a failure suspects. */
  readonly incarnation: number;
  readonly seq: number;
  readonly indirectAt: number;
  indirectSent: boolean;
  expiresAt: number;
}

/** A ping we send on someone's behalf (ping-req); its ack goes back to the requester. */
interface Relay {
  readonly requester: string;
  readonly seq: number;
  readonly target: string;
  readonly expiresAt: number;
}

// At one incarnation a later state wins: SWIM's suspect overrides alive, dead overrides suspect.
const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

export class Swim {
  private readonly timings: Timings;
  private readonly tuning: Tuning;
  private readonly random: () => number;
  private readonly records = new Map<string, MemberRecord>();
  private readonly probes = new Map<number, Probe>();
  private readonly probing = new Map<string, Probe>();
  private readonly relays = new Map<number, Relay>();
  private readonly gossip = new Dissemination();
  private readonly order: ProbeOrder;
  private incarnation: number;
  private seq = 0;
  private started = false;
  /** Whether setKnownMembers was given a non-empty list: only then does the initial round start. */
  private membersListed = false;
  private nextPeriodAt = Infinity;
  /** Members the initial round still waits for; undefined until it started. */
  private initialPending: Set<string> | undefined;
  private readonly initialSync = deferred();
  private leaveDone: Deferred | undefined;
  private leaveSendsLeft = 0;
  private nextLeaveAt = Infinity;
  /** News to push to every member at the end of the current call; see settle(). */
  private readonly urgent = new Map<string, Update>();
  private transitions: [MemberView, LocalState][] = [];
  private alive: ReadonlySet<string>;
  private failedProbes = 0;
  private readonly changeListeners = new Set<(alive: ReadonlySet<string>) => void>();
  private readonly transitionListeners = new Set<(member: MemberView, previous: LocalState) => void>();

  constructor(private readonly options: SwimOptions) {
    this.timings = validTimings({ ...DEFAULT_TIMINGS, ...options.timings });
    this.tuning = validTuning({ ...DEFAULT_TUNING, ...options.tuning });
    this.random = options.random ?? Math.random;
    this.order = new ProbeOrder(this.random);
    this.incarnation = options.incarnation;
    this.alive = new Set([options.self]);
  }

  /**
   * Who should exist (our own name may be included). New members are pinged at once; removed ones
   * are forgotten. Cheap when nothing changed, so it may be called on every Node event. An empty
   * list is taken as "not known yet": our own Node is always listed once the Node list is loaded.
   */
  setKnownMembers(names: Iterable<string>): void {
    const now = this.options.now();
    const listed = new Set(names);
    this.membersListed ||= listed.size > 0;
    listed.delete(this.options.self);
    for (const name of this.records.keys()) if (!listed.has(name)) this.remove(name);
    const added = [...listed].filter((name) => !this.records.has(name));
    for (const name of added) {
      this.records.set(name, {
        name,
        state: 'unknown',
        incarnation: -1,
        suspectDeadline: Infinity,
        lastProbeAt: now,
      });
    }
    if (this.started && !this.leaveDone) {
      if (this.initialPending === undefined && this.membersListed) this.beginInitialRound(now);
      else for (const name of added) this.startProbe(name, now);
    }
    this.settle();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.options.now();
    this.nextPeriodAt = now + this.timings.periodMs;
    if (this.membersListed) this.beginInitialRound(now);
    this.settle();
  }

  /**
   * Resolves once every known member was probed once after start() (answered or timed out), so the
   * alive set means something: before that a starting node would think it is alone.
   */
  initialSyncDone(): Promise<void> {
    return this.initialSync.promise;
  }

  /** Handles one authenticated message. */
  receive(message: Message): ReceiveResult {
    const { sender } = message;
    // Our own name is not among members: a packet "from us" comes from a misconfigured twin.
    if (!this.records.has(sender)) return 'unknown_sender';
    if (message.type === 'ping' && message.target !== this.options.self) return 'misaddressed';
    if (!this.started) return 'ok';
    if (this.leaveDone) {
      // The pinger missed our LEAVE; an ack would keep us alive in its eyes.
      if (message.type === 'ping') this.send(sender, { type: 'leave' });
      return 'ok';
    }
    const now = this.options.now();
    // Every packet is first-hand news that its sender is alive (or leaving) at its incarnation. It
    // and the piggybacked updates are applied before answering, so an answer carries a refutation.
    this.apply(
      {
        member: sender,
        state: message.type === 'leave' ? 'left' : 'alive',
        incarnation: message.incarnation,
      },
      now,
    );
    for (const update of message.updates) this.apply(update, now);
    switch (message.type) {
      case 'ping':
        this.send(sender, { type: 'ack', seq: message.seq, target: this.options.self });
        break;
      case 'ack':
        this.onAck(message, now);
        break;
      case 'ping-req':
        this.onPingReq(message, now);
        break;
    }
    this.settle();
    return 'ok';
  }

  /** Acts on every deadline that has passed. Call it at nextWakeAt(). */
  tick(): void {
    if (!this.started) return;
    const now = this.options.now();
    if (this.leaveDone) {
      this.repeatLeave(now);
      return;
    }
    for (const probe of [...this.probes.values()]) {
      if (!probe.indirectSent && now >= probe.indirectAt) this.probeIndirectly(probe, now);
      if (now >= probe.expiresAt) this.finishProbe(probe, false, now);
    }
    for (const member of this.records.values()) {
      if (now >= member.suspectDeadline) this.declareDead(member, now);
    }
    for (const [seq, relay] of this.relays) if (now >= relay.expiresAt) this.relays.delete(seq);
    if (now >= this.nextPeriodAt) {
      this.nextPeriodAt = now + this.timings.periodMs;
      this.startPeriod(now);
    }
    this.settle();
  }

  /** When tick() next has something to do; Infinity when nothing is scheduled. */
  nextWakeAt(): number {
    if (!this.started) return Infinity;
    if (this.leaveDone) return this.nextLeaveAt;
    let at = this.nextPeriodAt;
    for (const probe of this.probes.values()) {
      at = Math.min(at, probe.indirectSent ? probe.expiresAt : probe.indirectAt);
    }
    for (const member of this.records.values()) at = Math.min(at, member.suspectDeadline);
    return at;
  }

  /**
   * Stops probing and answering, and tells every member we are leaving, leaveRepeats times (UDP
   * may lose one). They mark us left at once, without suspicion. Resolves after the last repeat.
   */
  leave(): Promise<void> {
    if (this.leaveDone) return this.leaveDone.promise;
    const done = deferred();
    this.leaveDone = done;
    this.probes.clear();
    this.probing.clear();
    this.relays.clear();
    if (!this.started) {
      done.resolve();
      return done.promise;
    }
    this.leaveSendsLeft = this.tuning.leaveRepeats;
    this.nextLeaveAt = this.options.now();
    this.repeatLeave(this.nextLeaveAt);
    return done.promise;
  }

  /** Names of members alive to us: alive or suspect, and always ourselves. */
  aliveMembers(): ReadonlySet<string> {
    return this.alive;
  }

  /**
   * Called with the new alive set whenever it changes, at the end of the call that changed it.
   * Returns a function that unsubscribes.
   */
  onChange(listener: (alive: ReadonlySet<string>) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Called for every state or incarnation change of a member, for logs and tests. A refutation is
   * reported as our own transition from the state others believed.
   */
  onTransition(listener: (member: MemberView, previous: LocalState) => void): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /** Every known member and ourselves (first), with state and incarnation. */
  members(): MemberView[] {
    const self: MemberView = {
      name: this.options.self,
      state: this.leaveDone ? 'left' : 'alive',
      incarnation: this.incarnation,
    };
    return [self, ...[...this.records.values()].map(view)];
  }

  /** Probes of alive or suspect members that got no ack, direct or indirect, within their period. */
  get probesFailed(): number {
    return this.failedProbes;
  }

  private beginInitialRound(now: number): void {
    this.initialPending = new Set(this.records.keys());
    for (const name of this.records.keys()) this.startProbe(name, now);
    if (this.initialPending.size === 0) this.initialSync.resolve();
  }

  private startPeriod(now: number): void {
    const candidates = new Set<string>();
    for (const member of this.records.values()) {
      if (isAlive(member.state)) candidates.add(member.name);
    }
    const targets = new Set(this.order.next(candidates, this.tuning.probesPerPeriod));
    for (const member of this.records.values()) {
      const reconnect =
        (member.state === 'unknown' || member.state === 'dead') &&
        now - member.lastProbeAt >= this.timings.reconnectIntervalMs;
      // Suspects are pinged every period by everyone who suspects them: each ping is a chance to refute.
      if (member.state === 'suspect' || reconnect) targets.add(member.name);
    }
    for (const name of targets) this.startProbe(name, now);
  }

  private startProbe(target: string, now: number): void {
    const member = this.records.get(target);
    if (!member || this.probing.has(target)) return;
    member.lastProbeAt = now;
    const probe: Probe = {
      target,
      incarnation: member.incarnation,
      seq: this.nextSeq(),
      indirectAt: now + this.timings.probeTimeoutMs,
      indirectSent: false,
      expiresAt: now + this.timings.periodMs,
    };
    this.probes.set(probe.seq, probe);
    this.probing.set(target, probe);
    this.send(target, { type: 'ping', seq: probe.seq, target });
  }

  private probeIndirectly(probe: Probe, now: number): void {
    probe.indirectSent = true;
    // The direct ping again too: in a two-node cluster there is no helper, and this is the only
    // second chance after one lost packet.
    this.send(probe.target, { type: 'ping', seq: probe.seq, target: probe.target });
    const helpers = [...this.records.values()]
      .filter((member) => member.state === 'alive' && member.name !== probe.target)
      .map((member) => member.name);
    for (const helper of shuffle(helpers, this.random).slice(0, this.tuning.indirectProbes)) {
      this.send(helper, { type: 'ping-req', seq: probe.seq, target: probe.target });
    }
    // The indirect round trip keeps its share of the period from when the requests really left:
    // a tick that came late because our own event loop stalled must not eat into it.
    probe.expiresAt = Math.max(probe.expiresAt, now + this.timings.periodMs - this.timings.probeTimeoutMs);
  }

  private finishProbe(probe: Probe, acked: boolean, now: number): void {
    this.probes.delete(probe.seq);
    this.probing.delete(probe.target);
    if (this.initialPending?.delete(probe.target) && this.initialPending.size === 0) {
      this.initialSync.resolve();
    }
    const member = this.records.get(probe.target);
    if (acked || !member || !isAlive(member.state)) return;
    this.failedProbes += 1;
    if (member.state === 'suspect' || member.incarnation !== probe.incarnation) return;
    // Suspect the incarnation we probed. Had the member refuted meanwhile (it can still send when it
    // cannot hear), this failure would be about a life it already outgrew.
    this.apply({ member: member.name, state: 'suspect', incarnation: probe.incarnation }, now);
    // Tell it at once (the ping carries the suspicion): if it is alive it refutes in a round trip.
    this.startProbe(member.name, now);
  }

  private declareDead(member: MemberRecord, now: number): void {
    const update: Update = { member: member.name, state: 'dead', incarnation: member.incarnation };
    this.apply(update, now);
    this.urgent.set(member.name, update);
  }

  private onAck(ack: ProbeMessage, now: number): void {
    const probe = this.probes.get(ack.seq);
    if (probe && probe.target === ack.target) {
      this.finishProbe(probe, true, now);
      return;
    }
    const relay = this.relays.get(ack.seq);
    if (relay && relay.target === ack.sender) {
      this.relays.delete(ack.seq);
      // Vouch for the target with the incarnation it just claimed: the requester may never have
      // heard from it first-hand (the link between them is what failed).
      this.send(relay.requester, { type: 'ack', seq: relay.seq, target: relay.target }, [
        { member: relay.target, state: 'alive', incarnation: ack.incarnation },
      ]);
    }
  }

  private onPingReq(request: ProbeMessage, now: number): void {
    if (request.target === this.options.self) {
      this.send(request.sender, { type: 'ack', seq: request.seq, target: this.options.self });
      return;
    }
    if (!this.records.has(request.target)) return;
    const seq = this.nextSeq();
    this.relays.set(seq, {
      requester: request.sender,
      seq: request.seq,
      target: request.target,
      expiresAt: now + this.timings.periodMs,
    });
    this.send(request.target, { type: 'ping', seq, target: request.target });
  }

  private apply(update: Update, now: number): void {
    if (update.member === this.options.self) {
      this.applyAboutSelf(update);
      return;
    }
    const member = this.records.get(update.member);
    if (!member || !supersedes(update, member)) return;
    const previous = member.state;
    member.state = update.state;
    member.incarnation = update.incarnation;
    member.suspectDeadline = update.state === 'suspect' ? now + this.timings.suspicionTimeoutMs : Infinity;
    this.gossip.add(update);
    this.transitions.push([view(member), previous]);
  }

  private applyAboutSelf(update: Update): void {
    if (update.state === 'alive') {
      // Our previous life's incarnation, still gossiped: adopt it, so our next refutation outbids it.
      this.incarnation = Math.max(this.incarnation, update.incarnation);
      return;
    }
    // The largest incarnation cannot be outbid on the wire; only a broken or hostile peer sends it.
    if (update.incarnation < this.incarnation || update.incarnation >= MAX_UINT48) return;
    this.incarnation = update.incarnation + 1;
    const alive: Update = { member: this.options.self, state: 'alive', incarnation: this.incarnation };
    this.gossip.add(alive);
    this.urgent.set(alive.member, alive);
    this.transitions.push([
      { name: this.options.self, state: 'alive', incarnation: this.incarnation },
      update.state,
    ]);
  }

  private repeatLeave(now: number): void {
    if (this.leaveSendsLeft === 0 || now < this.nextLeaveAt) return;
    for (const member of this.records.values()) {
      if (member.state !== 'left') this.send(member.name, { type: 'leave' });
    }
    this.leaveSendsLeft -= 1;
    this.nextLeaveAt = this.leaveSendsLeft > 0 ? now + this.timings.leaveIntervalMs : Infinity;
    if (this.leaveSendsLeft === 0) this.leaveDone?.resolve();
  }

  private remove(name: string): void {
    this.records.delete(name);
    const probe = this.probing.get(name);
    if (probe) {
      this.probes.delete(probe.seq);
      this.probing.delete(name);
    }
    this.gossip.forget(name);
    this.urgent.delete(name);
    if (this.initialPending?.delete(name) && this.initialPending.size === 0) this.initialSync.resolve();
  }

  /**
   * Ends every public call: pushes urgent news, then reports transitions and a changed alive set, so
   * listeners always see a consistent state.
   */
  private settle(): void {
    if (this.urgent.size > 0) {
      const updates = [...this.urgent.values()];
      this.urgent.clear();
      // Everyone who may be running, not only the alive: a member we just declared dead refutes at
      // once if it lives after all, and a member holding us dead or unknown learns better.
      for (const member of this.records.values()) {
        if (member.state !== 'left') this.send(member.name, { type: 'gossip' }, updates);
      }
    }
    const transitions = this.transitions;
    this.transitions = [];
    for (const [member, previous] of transitions) {
      for (const listener of this.transitionListeners) listener(member, previous);
    }
    const alive = new Set([this.options.self]);
    for (const member of this.records.values()) if (isAlive(member.state)) alive.add(member.name);
    if (alive.size === this.alive.size && [...alive].every((name) => this.alive.has(name))) return;
    this.alive = alive;
    for (const listener of this.changeListeners) listener(alive);
  }

  /**
   * Sends one message with as much news as fits: first what the recipient must hear about itself
   * and the `priority` updates, then the least-sent gossip.
   */
  private send(to: string, body: Body, priority: readonly Update[] = []): void {
    const first = new Map<string, Update>();
    const member = this.records.get(to);
    // Lifeguard's buddy system: tell a member we suspect (or hold dead or left) so, and it can
    // refute at once instead of waiting for gossip to reach it.
    if (member && member.state !== 'alive' && member.state !== 'unknown') {
      first.set(to, { member: to, state: member.state, incarnation: member.incarnation });
    }
    for (const update of priority) if (!first.has(update.member)) first.set(update.member, update);
    const bare = {
      ...body,
      sender: this.options.self,
      incarnation: this.incarnation,
      updates: [],
    } as Message;
    let length = encodedLength(bare);
    const updates: Update[] = [];
    for (const update of first.values()) {
      if (length + updateLength(update) > MAX_BODY_BYTES || updates.length >= MAX_UPDATES) break;
      updates.push(update);
      length += updateLength(update);
    }
    const limit = this.tuning.retransmitMultiplier * Math.ceil(Math.log2(this.records.size + 2));
    updates.push(
      ...this.gossip.take(
        MAX_BODY_BYTES - length,
        MAX_UPDATES - updates.length,
        limit,
        new Set(first.keys()),
      ),
    );
    this.options.send(to, { ...bare, updates });
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % 2 ** 32;
    return this.seq;
  }
}

function isAlive(state: LocalState): boolean {
  // A suspect is still alive: only an unrefuted suspicion demotes it, so one missed probe never
  // moves an address.
  return state === 'alive' || state === 'suspect';
}

/** SWIM's precedence: a higher incarnation wins, and at the same incarnation the later state. */
function supersedes(update: Update, member: MemberRecord): boolean {
  if (member.state === 'unknown' || update.incarnation > member.incarnation) return true;
  return update.incarnation === member.incarnation && RANK[update.state] > RANK[member.state];
}

function view(member: MemberRecord): MemberView {
  return {
    name: member.name,
    state: member.state,
    incarnation: member.state === 'unknown' ? undefined : member.incarnation,
  };
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve: () => resolve() };
}

function validTimings(timings: Timings): Timings {
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isFinite(value) || value < 0 || (value === 0 && name !== 'leaveIntervalMs')) {
      throw new MetallbError(
        'MEMBERSHIP_CONFIG',
        `must be a positive number, got ${value}`,
        `timings.${name}`,
      );
    }
  }
  if (timings.probeTimeoutMs >= timings.periodMs) {
    throw new MetallbError(
      'MEMBERSHIP_CONFIG',
      `must be shorter than periodMs (${timings.periodMs}), leaving time for indirect probes`,
      'timings.probeTimeoutMs',
    );
  }
  return timings;
}

function validTuning(tuning: Tuning): Tuning {
  for (const [name, value] of Object.entries(tuning)) {
    const minimum = name === 'indirectProbes' ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum) {
      throw new MetallbError(
        'MEMBERSHIP_CONFIG',
        `must be an integer >= ${minimum}, got ${value}`,
        `tuning.${name}`,
      );
    }
  }
  return tuning;
}
