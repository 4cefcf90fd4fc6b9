/**
 * The I/O shell around swim.ts: one UDP socket, real timers, packet authentication and replay
 * protection. Every packet is checked in order (length, MAC, format, replay window, known sender)
 * and anything that fails is dropped and counted by reason; none of it can crash the speaker or
 * change membership.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP, isIPv4 } from 'node:net';
import { MetallbError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { sign, verify } from './auth.ts';
import { ReplayGuard } from './replay-guard.ts';
import { Swim, type LocalState, type MemberView, type Timings, type Tuning } from './swim.ts';
import { decodePacket, encodePacket, isWireName, MAC_BYTES, MAX_UINT48, type Message } from './wire.ts';

/** MetalLB's memberlist port, so existing firewall rules and NetworkPolicies keep working. */
export const DEFAULT_MEMBERSHIP_PORT = 7946;

export interface MembershipTimings extends Timings {
  /** How far a packet's timestamp may lie from our clock; also how long nonces are remembered. */
  readonly replayWindowMs: number;
}

/** A few seconds: replays are refused quickly, yet NTP-synced clocks never come near the limit. */
export const DEFAULT_REPLAY_WINDOW_MS = 5000;

export interface KnownMember {
  readonly name: string;
  /** The node's IP (its InternalIP), IPv4 or IPv6. */
  readonly address: string;
  /** Defaults to the `port` option: every speaker uses the same one. */
  readonly port?: number;
}

export type DropReason = 'bad_mac' | 'malformed' | 'replay' | 'unknown_sender' | 'misaddressed';

export interface MembershipCounters {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** Sends the kernel refused (no route, buffer full); the protocol treats them as lost. */
  readonly sendErrors: number;
  readonly droppedPackets: Readonly<Record<DropReason, number>>;
  readonly probesFailed: number;
  /** Ourselves included (alive, or left after leave()). */
  readonly membersByState: Readonly<Record<LocalState, number>>;
}

export interface MembershipOptions {
  readonly nodeName: string;
  /** `0.0.0.0`, `::` or the node's own IP; the socket is udp6 for an IPv6 address, else udp4. */
  readonly bindAddress: string;
  /** Default 7946. 0 lets the kernel choose (tests; see `port`): members then need explicit ports. */
  readonly port?: number;
  /** The `memberlist` Secret's key; at least 16 bytes. */
  readonly key: Buffer;
  readonly timings?: Partial<MembershipTimings>;
  readonly tuning?: Partial<Tuning>;
  readonly log: Logger;
}

/** Stale-timestamp warnings name a clock problem; once a minute per sender is enough to find it. */
const SKEW_WARNING_INTERVAL_MS = 60_000;

export class Membership {
  private readonly swim: Swim;
  private readonly socket: Socket;
  private readonly replay: ReplayGuard;
  private readonly endpoints = new Map<string, { address: string; port: number }>();
  private readonly listeners = new Set<(alive: ReadonlySet<string>) => void>();
  private readonly skewWarnedAt = new Map<string, number>();
  /** Members last ignored for a name or an address family we cannot use. */
  private unusable = new Set<string>();
  private readonly log: Logger;
  private nonce = randomInt(0, MAX_UINT48);
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private packetsSent = 0;
  private packetsReceived = 0;
  private sendErrors = 0;
  private readonly dropped: Record<DropReason, number> = {
    bad_mac: 0,
    malformed: 0,
    replay: 0,
    unknown_sender: 0,
    misaddressed: 0,
  };

  constructor(private readonly options: MembershipOptions) {
    if (options.key.length < 16) {
      throw new MetallbError('MEMBERSHIP_CONFIG', 'the membership key needs at least 16 bytes', 'key');
    }
    if (!isWireName(options.nodeName)) {
      throw new MetallbError('MEMBERSHIP_CONFIG', `${options.nodeName} is not a node name`, 'nodeName');
    }
    if (isIP(options.bindAddress) === 0) {
      throw new MetallbError(
        'MEMBERSHIP_CONFIG',
        `${options.bindAddress} is not an IP address`,
        'bindAddress',
      );
    }
    this.log = options.log.with({ component: 'membership' });
    const { replayWindowMs = DEFAULT_REPLAY_WINDOW_MS, ...timings } = options.timings ?? {};
    this.replay = new ReplayGuard(replayWindowMs);
    this.swim = new Swim({
      self: options.nodeName,
      // Wall-clock ms: a restarted speaker outranks its previous life's dead or left record.
      incarnation: Date.now(),
      now: () => performance.now(),
      send: (to, message) => this.send(to, message),
      timings,
      tuning: options.tuning,
    });
    this.swim.onChange((alive) => this.changed(alive));
    this.swim.onTransition((member, previous) => this.logTransition(member, previous));
    this.socket = createSocket({ type: isIPv4(options.bindAddress) ? 'udp4' : 'udp6' });
    this.socket.on('message', (bytes) => this.receive(bytes));
    // Errors on a bound UDP socket are per-datagram (ICMP unreachable and the like): log, keep going.
    this.socket.on('error', (error) => this.log.warn('membership socket error', { error }));
  }

  /** Binds the socket and starts probing (the initial round waits for a non-empty member list). */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.options.port ?? DEFAULT_MEMBERSHIP_PORT, this.options.bindAddress, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.state = 'running';
    this.swim.start();
    this.rearm();
    this.log.info('membership started', { address: this.options.bindAddress, port: this.port });
  }

  /** The bound UDP port. */
  get port(): number {
    return this.socket.address().port;
  }

  /** The full list of nodes (ours may be included); cheap to call on every Node event. */
  setKnownMembers(members: readonly KnownMember[]): void {
    this.endpoints.clear();
    const unusable = new Set<string>();
    for (const member of members) {
      const endpoint = isWireName(member.name) ? this.endpoint(member) : undefined;
      if (endpoint) {
        this.endpoints.set(member.name, endpoint);
        continue;
      }
      unusable.add(member.name);
      // Once per member, not on every call: the speaker calls this on every Node event.
      if (!this.unusable.has(member.name)) {
        this.log.warn('member name or address unusable here, ignoring the member', { ...member });
      }
    }
    this.unusable = unusable;
    this.swim.setKnownMembers(this.endpoints.keys());
    this.rearm();
  }

  /** Names of alive members, ours included. A suspect still counts; only dead or left members don't. */
  aliveMembers(): ReadonlySet<string> {
    return this.swim.aliveMembers();
  }

  onChange(listener: (alive: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every known member was probed once: announce nothing before. */
  initialSyncDone(): Promise<void> {
    return this.swim.initialSyncDone();
  }

  /** Tells every member we are leaving (they hand over at once); then call stop(). */
  async leave(): Promise<void> {
    const done = this.swim.leave();
    this.rearm();
    await done;
    this.log.info('left the membership');
  }

  /** Closes the socket. Without leave() first, the others notice only by failed probes. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.timer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  members(): MemberView[] {
    return this.swim.members();
  }

  counters(): MembershipCounters {
    const membersByState: Record<LocalState, number> = { unknown: 0, alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const member of this.swim.members()) membersByState[member.state] += 1;
    return {
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      sendErrors: this.sendErrors,
      droppedPackets: { ...this.dropped },
      probesFailed: this.swim.probesFailed,
      membersByState,
    };
  }

  private receive(bytes: Buffer): void {
    if (this.state !== 'running') return;
    this.packetsReceived += 1;
    if (bytes.length <= MAC_BYTES) return this.drop('malformed');
    const body = verify(this.options.key, bytes);
    if (!body) return this.drop('bad_mac');
    let packet;
    try {
      packet = decodePacket(body);
    } catch (error) {
      if (!(error instanceof MetallbError)) throw error;
      // Authentic but unreadable: a speaker of another version, most likely.
      this.log.debug('undecodable membership packet', { error: error.message, code: error.code });
      return this.drop('malformed');
    }
    const { sender } = packet.message;
    const now = Date.now();
    const verdict = this.replay.check(sender, packet.nonce, packet.timestampMs, now);
    if (verdict === 'stale') this.warnSkew(sender, now - packet.timestampMs, now);
    if (verdict !== 'fresh') return this.drop('replay');
    const result = this.swim.receive(packet.message);
    if (result !== 'ok') this.drop(result);
    this.rearm();
  }

  private send(to: string, message: Message): void {
    const endpoint = this.endpoints.get(to);
    if (!endpoint || this.state !== 'running') return;
    this.nonce = (this.nonce + 1) % (MAX_UINT48 + 1);
    const bytes = sign(
      this.options.key,
      encodePacket({ timestampMs: Date.now(), nonce: this.nonce, message }),
    );
    this.packetsSent += 1;
    this.socket.send(bytes, endpoint.port, endpoint.address, (error) => {
      if (!error) return;
      this.sendErrors += 1;
      this.log.debug('membership send failed', { member: to, error: error.message });
    });
  }

  /**
   * One timer, at the state machine's next deadline. When it fires, tick() waits for setImmediate:
   * packets that queued up while this process was busy are read first (the poll phase runs before
   * immediates), so a stall of our own never reads as silence of others.
   */
  private rearm(): void {
    if (this.state !== 'running') return;
    const at = this.swim.nextWakeAt();
    if (at === this.wakeAt) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.wakeAt = Infinity;
        setImmediate(() => {
          if (this.state !== 'running') return;
          this.swim.tick();
          this.rearm();
        });
      },
      Math.max(0, Math.ceil(at - performance.now())),
    );
  }

  private changed(alive: ReadonlySet<string>): void {
    this.log.info('alive members changed', { alive: [...alive].sort() });
    for (const listener of this.listeners) {
      try {
        listener(alive);
      } catch (error) {
        this.log.error('membership listener failed', { error });
      }
    }
  }

  private logTransition(member: MemberView, previous: LocalState): void {
    const fields = { member: member.name, previous, incarnation: member.incarnation };
    // Our own transition is a refutation: worth a warning, as it means peers lost sight of us.
    if (member.name === this.options.nodeName) this.log.warn(`refuted being ${previous}`, fields);
    else this.log.info(`member ${member.state}`, fields);
  }

  private drop(reason: DropReason): void {
    this.dropped[reason] += 1;
  }

  private warnSkew(sender: string, skewMs: number, now: number): void {
    const last = this.skewWarnedAt.get(sender);
    if (last !== undefined && now - last < SKEW_WARNING_INTERVAL_MS) return;
    this.skewWarnedAt.set(sender, now);
    this.log.warn('membership packet outside the replay window: are the node clocks in sync?', {
      member: sender,
      skewMs,
    });
  }

  private endpoint(member: KnownMember): { address: string; port: number } | undefined {
    const family = isIP(member.address);
    const port = member.port ?? this.options.port ?? DEFAULT_MEMBERSHIP_PORT;
    if (family === 0) return undefined;
    if (isIPv4(this.options.bindAddress)) return family === 4 ? { address: member.address, port } : undefined;
    // A udp6 socket bound to `::` reaches IPv4 peers through mapped addresses.
    return { address: family === 4 ? `::ffff:${member.address}` : member.address, port };
  }
}
