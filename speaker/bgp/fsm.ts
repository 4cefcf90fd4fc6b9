/**
 * The BGP finite state machine of one session (RFC 4271 §8), pure: no sockets, no real timers, no
 * clock of its own. The owner (session.ts) feeds it events (start, stop, TCP outcomes, decoded
 * messages or decoding errors, timer expiries) and carries out the actions it returns, in order
 * (connect, send, close, start/stop a named timer, report established/down, re-send the table).
 *
 * Departures from the RFC's full machine, all because a MetalLB speaker only announces:
 * - Active open only. We never listen on port 179, so there is no connection collision to detect
 *   (RFC 4271 §6.8): a router that also connects to us gets a RST from the node's kernel and keeps
 *   accepting ours. Hence the RFC's Active state ("listening for the peer") has nothing to listen
 *   for; we use it for what the RFC also does there: wait for the ConnectRetryTimer (our jittered
 *   exponential backoff) before the next attempt. Idle means stopped.
 * - Every failure after start (TCP refused, OPEN refused, NOTIFICATION, hold timer, peer closing)
 *   goes to Active with the next backoff delay, i.e. automatic restart with peer-oscillation damping
 *   (RFC 4271 §8.1.1 options AutomaticStart + DampPeerOscillations) is always on.
 * - No DelayOpen, no passive TCP establishment, no ROUTE-REFRESH sent (we import nothing).
 * - The connect attempt's own timeout lives in tcp-connect.ts; it fails the attempt with ETIMEDOUT.
 */
import { formatIp, type Family, type IpAddress } from '../../shared/ip/address.ts';
import { afiOf, SAFI, unicastFamily } from './wire/address-family.ts';
import type { Capability } from './wire/capabilities.ts';
import { CEASE_SUBCODE, ERROR_CODE, FSM_SUBCODE, OPEN_SUBCODE, type BgpWireError } from './wire/errors.ts';
import { KEEPALIVE, type Keepalive } from './wire/keepalive.ts';
import type { BgpMessage } from './wire/message.ts';
import {
  cease,
  describeNotification,
  notificationFromError,
  type Notification,
} from './wire/notification.ts';
import { negotiate } from './wire/negotiation.ts';
import { BGP_VERSION, twoOctetAs, type Open } from './wire/open.ts';

export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'connectRetry' | 'hold' | 'keepalive';

/** Why the owner stops a session: the Cease subcode sent (RFC 4486). */
export type StopReason = 'shutdown' | 'deconfigured';

export const CEASE_FOR_STOP: Readonly<Record<StopReason, number>> = {
  /** The speaker is shutting down (SIGTERM, pod deletion). */
  shutdown: CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN,
  /** The peer was removed from the configuration, or no longer selects this node. */
  deconfigured: CEASE_SUBCODE.PEER_DECONFIGURED,
};

/** What the FSM accepts as a received message: any decoded message (or a plain object in tests). */
export type ReceivedMessage = BgpMessage | Open | Notification | Keepalive | { readonly type: 'update' };

export type FsmEvent =
  | { readonly type: 'start' }
  /** Sends a Cease with the reason's subcode if a connection is open, and goes to Idle. */
  | { readonly type: 'stop'; readonly reason: StopReason; readonly message?: string }
  /** `localAddress`: our end of the connection, the BGP Identifier when none is configured. */
  | { readonly type: 'tcpConnected'; readonly localAddress?: IpAddress }
  | { readonly type: 'tcpFailed'; readonly error: string }
  | { readonly type: 'tcpClosed'; readonly error?: string }
  | { readonly type: 'messageReceived'; readonly message: ReceivedMessage }
  /** A message that could not be read: the NOTIFICATION it calls for is in the error. */
  | { readonly type: 'decodeError'; readonly error: BgpWireError }
  | { readonly type: 'timerExpired'; readonly timer: TimerName };

export type FsmAction =
  | { readonly type: 'connect' }
  | { readonly type: 'send'; readonly message: Open | Keepalive | Notification }
  /** Close the connection (or abandon the attempt), after sending what was queued before. */
  | { readonly type: 'close' }
  | { readonly type: 'startTimer'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'stopTimer'; readonly timer: TimerName }
  | { readonly type: 'stateChanged'; readonly from: BgpState; readonly to: BgpState }
  | { readonly type: 'established'; readonly negotiated: Negotiated }
  | { readonly type: 'down'; readonly reason: DownReason }
  /** The peer sent a ROUTE-REFRESH (RFC 2918): send the whole table of this family again. */
  | { readonly type: 'sendTable'; readonly family: Family };

/** What the two OPENs agreed on: everything the session needs to encode and pace its messages. */
export interface Negotiated {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH carries 4-octet numbers. */
  readonly fourOctetAs: boolean;
  /** Unicast families both sides advertised (IPv4 only when the peer sent no MP capability). */
  readonly families: readonly Family[];
  /** min(ours, theirs); 0 = no keepalives and no hold timer. */
  readonly holdTimeSeconds: number;
  /** 0 when the hold time is 0. */
  readonly keepaliveSeconds: number;
  readonly peerRouterId: string;
  readonly peerAsn: number;
  /** The peer accepts ROUTE-REFRESH (informational: we never ask). */
  readonly routeRefresh: boolean;
  /**
   * The peer's graceful restart capability (RFC 4724), undefined when it sent none: such a router
   * drops our routes as soon as the session goes down, whatever we advertise.
   */
  readonly gracefulRestart: PeerGracefulRestart | undefined;
}

export interface PeerGracefulRestart {
  readonly restartTimeSeconds: number;
  /** The peer itself has just restarted (its R bit). */
  readonly restarting: boolean;
  readonly families: readonly { readonly family: Family; readonly forwardingPreserved: boolean }[];
}

export type DownKind =
  'stopped' | 'connectFailed' | 'connectionClosed' | 'notificationReceived' | 'notificationSent';

export interface DownReason {
  readonly kind: DownKind;
  /** For logs and events. */
  readonly message: string;
  /** The NOTIFICATION sent or received, when there was one. */
  readonly notification?: Notification;
  /** The session had reached Established (routes were announced and are now gone from the peer). */
  readonly wasEstablished: boolean;
  /** When the next connect attempt is due; undefined after a stop. */
  readonly retryInMs?: number;
}

export interface FsmTimings {
  /** First reconnect delay after a failure; doubled per consecutive failure. */
  readonly connectRetryInitialMs: number;
  /** Cap of the reconnect delay. */
  readonly connectRetryMaxMs: number;
  /** How long to wait for the peer's OPEN after sending ours (the RFC's "large value" HoldTimer). */
  readonly openHoldMs: number;
  /** A session that stayed Established this long resets the backoff to its first step. */
  readonly stableAfterMs: number;
}

/**
 * Reconnect: 0.5 s, 1 s, 2 s, ... 30 s at most, each scaled by a random factor in [0.75, 1]
 * (RFC 4271 §10's jitter range).
 * - Quicker than MetalLB (1 s doubling to 2 min) at both ends: a router that dropped us on purpose
 *   (`clear bgp`, a bgpd restart, a config reload) takes new connections within a second, so the
 *   first retry comes after 0.5 s; and a router that was down for minutes is found again within
 *   30 s of coming back instead of up to 2 minutes.
 * - Never hammering: the delay doubles per consecutive failure, whatever the failure (refused TCP,
 *   OPEN refused with a NOTIFICATION, a session torn down right after coming up), and only resets
 *   after a session stayed up stableAfterMs (30 s). A peer that refuses us sees 8 attempts in the
 *   first minute, then one every 22-30 s: with 1,000 nodes, about 45 SYNs per second at worst, which a
 *   router answers with a RST in microseconds (FRR's datacenter profile retries every 10 s).
 * - Jitter keeps the speakers of a whole cluster, which all lose a restarting router at the same
 *   moment, from coming back in lockstep.
 * The OPEN wait: a router that accepted our connection answers an OPEN within milliseconds. The
 * RFC suggests 4 minutes; 30 s still tolerates a control plane busy with a full-table convergence,
 * while a hung one is retried within a minute rather than four.
 */
export const DEFAULT_TIMINGS: FsmTimings = {
  connectRetryInitialMs: 500,
  connectRetryMaxMs: 30_000,
  openHoldMs: 30_000,
  stableAfterMs: 30_000,
};

/** MetalLB's default `hold-time`; the keepalive interval defaults to a third of it (RFC 4271 §10). */
export const DEFAULT_HOLD_TIME_SECONDS = 90;
/**
 * RFC 4724 §3: how long the router should keep our routes while we come back. 120 s covers a speaker
 * pod being rescheduled and pulling its image (FRR's default is 120 too).
 */
export const DEFAULT_RESTART_TIME_SECONDS = 120;

export interface GracefulRestartOptions {
  /** Default true. */
  readonly enabled?: boolean;
  /** Default DEFAULT_RESTART_TIME_SECONDS; 12 bits, at most 4095. */
  readonly restartTimeSeconds?: number;
  /**
   * Sets the R bit (RFC 4724 §3) in our OPENs until this FSM first reaches Established: the speaker
   * passes it for sessions opened soon after its own (re)start, telling the router to keep our
   * previous routes as stale until our End-of-RIB instead of waiting for us as a fresh peer.
   */
  readonly restarting?: boolean;
}

export interface BgpFsmOptions {
  readonly myAsn: number;
  readonly peerAsn: number;
  /**
   * Our BGP Identifier (IPv4, non-zero). Default, as MetalLB: the local address of each connection,
   * when it is IPv4; an IPv6 session without one fails to connect with a message saying so.
   */
  readonly routerId?: IpAddress;
  /** Our proposed hold time: 0 or 3..65535; default 90. */
  readonly holdTimeSeconds?: number;
  /** Upper bound of the keepalive interval (MetalLB's `keepalive-time`); default a third of the hold time. */
  readonly keepaliveTimeSeconds?: number;
  /** Unicast families we advertise (MP capabilities); default both. */
  readonly families?: readonly Family[];
  readonly gracefulRestart?: GracefulRestartOptions;
  readonly timings?: Partial<FsmTimings>;
  /** [0, 1), for jitter; default Math.random. */
  readonly random?: () => number;
  /** Monotonic milliseconds, used only to tell a stable session from a flapping one. */
  readonly now?: () => number;
}

/** RFC 4271 §4.2: a non-zero hold time below 3 s is refused. */
export const MIN_HOLD_TIME_SECONDS = 3;
/** RFC 4271 §10's jitter: timers are scaled by a random factor between 0.75 and 1. */
const JITTER_LOW = 0.75;

/** The nominal (jitter-free) delay before reconnect attempt number `failures` (1 = first retry). */
export function nominalRetryDelayMs(failures: number, timings: FsmTimings = DEFAULT_TIMINGS): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(timings.connectRetryMaxMs, timings.connectRetryInitialMs * 2 ** Math.min(exponent, 30));
}

export class BgpFsm {
  private current: BgpState = 'Idle';
  private readonly timings: FsmTimings;
  private readonly holdTimeSeconds: number;
  private readonly families: readonly Family[];
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly gracefulRestart: Required<GracefulRestartOptions>;
  private readonly running = new Set<TimerName>();
  private actions: FsmAction[] = [];
  /** Consecutive failures since the last stable session: drives the backoff. */
  private failures = 0;
  private negotiatedValues: Negotiated | undefined;
  private establishedAt = 0;
  private everEstablished = false;
  /** Our OPEN on the current connection. */
  private sentOpen: Open | undefined;

  constructor(private readonly options: BgpFsmOptions) {
    const { myAsn, peerAsn, routerId } = options;
    for (const [name, asn] of [
      ['myAsn', myAsn],
      ['peerAsn', peerAsn],
    ] as const) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffff_ffff) {
        throw new RangeError(`${name} ${asn} is not an AS number (1..4294967295)`);
      }
    }
    if (routerId && (routerId.family !== 4 || routerId.value === 0n)) {
      throw new RangeError(`router id ${formatIp(routerId)} must be a non-zero IPv4 address`);
    }
    this.holdTimeSeconds = options.holdTimeSeconds ?? DEFAULT_HOLD_TIME_SECONDS;
    if (!acceptableHoldTime(this.holdTimeSeconds)) {
      throw new RangeError(`hold time ${this.holdTimeSeconds} s must be 0 or 3..65535`);
    }
    this.families = [...new Set<Family>(options.families ?? [4, 6])];
    if (this.families.length === 0) throw new RangeError('at least one address family is needed');
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.gracefulRestart = {
      enabled: options.gracefulRestart?.enabled ?? true,
      restartTimeSeconds: options.gracefulRestart?.restartTimeSeconds ?? DEFAULT_RESTART_TIME_SECONDS,
      restarting: options.gracefulRestart?.restarting ?? false,
    };
    const restartTime = this.gracefulRestart.restartTimeSeconds;
    if (!Number.isInteger(restartTime) || restartTime < 0 || restartTime > 4095) {
      throw new RangeError(`graceful restart time ${restartTime} s must be 0..4095`);
    }
  }

  get state(): BgpState {
    return this.current;
  }

  /** What the OPENs agreed on while OpenConfirm or Established; undefined otherwise. */
  get negotiated(): Negotiated | undefined {
    return this.negotiatedValues;
  }

  /** Consecutive failed attempts since the last stable session. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Feeds one event; returns the actions to carry out, in order. */
  handle(event: FsmEvent): FsmAction[] {
    this.actions = [];
    switch (event.type) {
      case 'start':
        this.onStart();
        break;
      case 'stop':
        this.onStop(event.reason, event.message);
        break;
      case 'tcpConnected':
        this.onTcpConnected(event.localAddress);
        break;
      case 'tcpFailed':
        if (this.current === 'Connect') this.fail('connectFailed', `connect failed: ${event.error}`);
        break;
      case 'tcpClosed':
        this.onTcpClosed(event.error);
        break;
      case 'messageReceived':
        this.onMessage(event.message);
        break;
      case 'decodeError':
        this.onDecodeError(event.error);
        break;
      case 'timerExpired':
        this.onTimer(event.timer);
        break;
    }
    return this.actions;
  }

  /** The OPEN we send, with `routerId` as BGP Identifier (default: the configured one). */
  openMessage(routerId: IpAddress | undefined = this.options.routerId): Open {
    const capabilities: Capability[] = [
      ...this.families.map((family): Capability => ({
        kind: 'multiprotocol',
        afi: afiOf(family),
        safi: SAFI.UNICAST,
      })),
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: this.options.myAsn },
    ];
    if (this.gracefulRestart.enabled) {
      capabilities.push({
        kind: 'gracefulRestart',
        restarting: this.gracefulRestart.restarting && !this.everEstablished,
        // RFC 8538's N bit stays off: our Cease on shutdown or removal must withdraw our routes at
        // once; only a crash (the connection lost without a NOTIFICATION) keeps them as stale.
        notification: false,
        restartTime: this.gracefulRestart.restartTimeSeconds,
        // F set: what the routes lead to (kube-proxy on the node) keeps forwarding while the
        // speaker restarts, so the router may keep using them (RFC 4724 §4.2).
        families: this.families.map((family) => ({
          afi: afiOf(family),
          safi: SAFI.UNICAST,
          forwardingPreserved: true,
        })),
      });
    }
    return {
      type: 'open',
      version: BGP_VERSION,
      myAs: twoOctetAs(this.options.myAsn),
      holdTime: this.holdTimeSeconds,
      bgpIdentifier: routerId ?? { family: 4, value: 0n },
      capabilities,
    };
  }

  private onStart(): void {
    if (this.current !== 'Idle') return;
    this.failures = 0;
    this.connect();
  }

  private onStop(reason: StopReason, message: string | undefined): void {
    if (this.current === 'Idle') return;
    const wasEstablished = this.current === 'Established';
    let notification: Notification | undefined;
    if (this.connectionOpen()) {
      notification = cease(CEASE_FOR_STOP[reason], message ?? defaultStopMessage(reason));
      this.emit({ type: 'send', message: notification });
    }
    if (this.current !== 'Active') this.emit({ type: 'close' });
    this.stopTimers();
    this.transition('Idle');
    this.negotiatedValues = undefined;
    this.emit({
      type: 'down',
      reason: {
        kind: 'stopped',
        message: notification ? `stopped: sent ${describeNotification(notification)}` : 'stopped',
        ...(notification ? { notification } : {}),
        wasEstablished,
      },
    });
  }

  private onTcpConnected(localAddress: IpAddress | undefined): void {
    if (this.current !== 'Connect') return;
    const routerId = this.options.routerId ?? (localAddress?.family === 4 ? localAddress : undefined);
    if (routerId === undefined) {
      this.fail('connectFailed', 'no BGP router id: configure router-id for a peer reached over IPv6');
      return;
    }
    this.sentOpen = this.openMessage(routerId);
    this.emit({ type: 'send', message: this.sentOpen });
    this.startTimer('hold', this.timings.openHoldMs);
    this.transition('OpenSent');
  }

  private onTcpClosed(error: string | undefined): void {
    const detail = error ? `: ${error}` : '';
    if (this.current === 'Connect') this.fail('connectFailed', `connection closed while connecting${detail}`);
    else if (this.connectionOpen()) this.fail('connectionClosed', `the peer closed the connection${detail}`);
  }

  private onMessage(message: ReceivedMessage): void {
    if (!this.connectionOpen()) return;
    if (message.type === 'notification') {
      this.fail('notificationReceived', `received ${describeNotification(message)}`, { received: message });
      return;
    }
    switch (this.current) {
      case 'OpenSent':
        if (message.type === 'open') this.onOpen(message);
        else this.unexpected(message.type, FSM_SUBCODE.UNEXPECTED_MESSAGE_IN_OPEN_SENT);
        return;
      case 'OpenConfirm':
        if (message.type === 'keepalive') this.onEstablished();
        else this.unexpected(message.type, FSM_SUBCODE.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM);
        return;
      case 'Established':
        if (message.type === 'open') {
          this.unexpected(message.type, FSM_SUBCODE.UNEXPECTED_MESSAGE_IN_ESTABLISHED);
          return;
        }
        // KEEPALIVE and UPDATE restart the hold timer (§8.2.2, Established); so does ROUTE-REFRESH:
        // any message proves the peer alive. UPDATEs are otherwise ignored: we import nothing.
        this.restartHoldTimer();
        if (message.type === 'routeRefresh') this.onRouteRefresh(message.afi, message.safi, message.subtype);
        return;
    }
  }

  private onDecodeError(error: BgpWireError): void {
    if (!this.connectionOpen()) return;
    if (error.errorHandling !== 'session-reset' && this.current === 'Established') {
      // RFC 7606: a malformed attribute in an intact UPDATE withdraws that UPDATE's routes (or drops
      // the attribute). We hold no routes from the peer, so there is nothing to withdraw: the
      // message still proves the peer alive.
      this.restartHoldTimer();
      return;
    }
    this.fail(
      'notificationSent',
      `sent ${describeNotification(notificationFromError(error))}: ${error.message}`,
      {
        send: notificationFromError(error),
      },
    );
  }

  private onTimer(timer: TimerName): void {
    if (!this.running.delete(timer)) return; // stopped meanwhile: a stale expiry
    switch (timer) {
      case 'connectRetry':
        if (this.current === 'Active') this.connect();
        return;
      case 'hold':
        if (this.connectionOpen()) {
          const notification: Notification = {
            type: 'notification',
            errorCode: ERROR_CODE.HOLD_TIMER_EXPIRED,
            errorSubcode: 0,
            data: Buffer.alloc(0),
          };
          const waited =
            this.current === 'OpenSent'
              ? `no OPEN within ${this.timings.openHoldMs} ms`
              : `nothing received for ${this.negotiatedValues?.holdTimeSeconds ?? '?'} s`;
          this.fail(
            'notificationSent',
            `hold timer expired (${waited}): sent ${describeNotification(notification)}`,
            {
              send: notification,
            },
          );
        }
        return;
      case 'keepalive':
        if (this.current === 'OpenConfirm' || this.current === 'Established') {
          this.emit({ type: 'send', message: KEEPALIVE });
          this.startKeepaliveTimer();
        }
        return;
    }
  }

  /** §6.2 checks that need our configuration; the codec has already checked the rest. */
  private onOpen(open: Open): void {
    const refuse = (subcode: number, message: string, data?: Buffer): void => {
      const notification: Notification = {
        type: 'notification',
        errorCode: ERROR_CODE.OPEN_MESSAGE,
        errorSubcode: subcode,
        data: data ?? Buffer.alloc(0),
      };
      this.fail('notificationSent', `${message}: sent ${describeNotification(notification)}`, {
        send: notification,
      });
    };
    if (open.version !== BGP_VERSION) {
      const data = Buffer.alloc(2);
      data.writeUInt16BE(BGP_VERSION);
      refuse(OPEN_SUBCODE.UNSUPPORTED_VERSION_NUMBER, `the peer speaks BGP version ${open.version}`, data);
      return;
    }
    const sentOpen = this.sentOpen;
    if (sentOpen === undefined) return;
    const agreed = negotiate(sentOpen, open);
    if (agreed.peerAsn !== this.options.peerAsn) {
      // A 4-byte AS without the capability arrives as AS_TRANS, and so fails here too.
      refuse(
        OPEN_SUBCODE.BAD_PEER_AS,
        `the peer is AS ${agreed.peerAsn}, configured peer-asn is ${this.options.peerAsn}`,
      );
      return;
    }
    const peerId = open.bgpIdentifier;
    if (peerId.family !== 4 || peerId.value === 0n) {
      refuse(
        OPEN_SUBCODE.BAD_BGP_IDENTIFIER,
        `BGP identifier ${formatIp(peerId)} is not a non-zero IPv4 value`,
      );
      return;
    }
    // RFC 6286 §2.2: unique within an AS; an eBGP peer may share ours.
    if (this.options.myAsn === this.options.peerAsn && peerId.value === sentOpen.bgpIdentifier.value) {
      refuse(OPEN_SUBCODE.BAD_BGP_IDENTIFIER, `the iBGP peer has our own BGP identifier ${formatIp(peerId)}`);
      return;
    }
    if (!acceptableHoldTime(open.holdTime)) {
      refuse(OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME, `hold time ${open.holdTime} s: it must be 0 or at least 3`);
      return;
    }
    if (agreed.families.length === 0) {
      // RFC 5492 §3 allows ending a session that lacks a capability we need.
      refuse(
        OPEN_SUBCODE.UNSUPPORTED_CAPABILITY,
        `no address family in common (we speak ${this.families.map((f) => `IPv${f}`).join(', ')} unicast)`,
      );
      return;
    }
    const holdTimeSeconds = agreed.holdTime;
    // A third of the hold time (RFC 4271 §10), never more than a configured keepalive-time, never
    // below 1 s (§4.4: at most one KEEPALIVE per second).
    const keepaliveSeconds =
      holdTimeSeconds === 0
        ? 0
        : Math.max(1, Math.min(this.options.keepaliveTimeSeconds ?? Infinity, agreed.keepaliveTime));
    const grCapability = agreed.peerGracefulRestart;
    this.negotiatedValues = {
      fourOctetAs: agreed.options.fourOctetAs,
      families: agreed.families,
      holdTimeSeconds,
      keepaliveSeconds,
      peerRouterId: formatIp(peerId),
      peerAsn: agreed.peerAsn,
      routeRefresh: agreed.routeRefresh,
      gracefulRestart: grCapability && {
        restartTimeSeconds: grCapability.restartTime,
        restarting: grCapability.restarting,
        families: grCapability.families.flatMap(({ afi, safi, forwardingPreserved }) => {
          const family = unicastFamily(afi, safi);
          return family === undefined ? [] : [{ family, forwardingPreserved }];
        }),
      },
    };
    this.emit({ type: 'send', message: KEEPALIVE });
    this.restartHoldTimer();
    this.startKeepaliveTimer();
    this.transition('OpenConfirm');
  }

  private onEstablished(): void {
    const negotiated = this.negotiatedValues;
    if (!negotiated) return;
    this.restartHoldTimer();
    this.transition('Established');
    this.establishedAt = this.now();
    this.everEstablished = true;
    this.emit({ type: 'established', negotiated });
  }

  private onRouteRefresh(afi: number, safi: number, subtype: number): void {
    // Subtypes 1 and 2 are Enhanced Route Refresh markers (RFC 7313), which we never negotiate.
    if (subtype !== 0) return;
    const family = unicastFamily(afi, safi);
    // RFC 2918 §4: a request for a family not negotiated is ignored.
    if (family !== undefined && this.negotiatedValues?.families.includes(family)) {
      this.emit({ type: 'sendTable', family });
    }
  }

  private unexpected(type: string, subcode: number): void {
    const notification: Notification = {
      type: 'notification',
      errorCode: ERROR_CODE.FSM,
      errorSubcode: subcode,
      data: Buffer.alloc(0),
    };
    this.fail(
      'notificationSent',
      `unexpected ${type} in ${this.current}: sent ${describeNotification(notification)}`,
      {
        send: notification,
      },
    );
  }

  /** Tears the attempt or session down and schedules the next attempt. */
  private fail(
    kind: DownKind,
    message: string,
    notification: { send?: Notification; received?: Notification } = {},
  ): void {
    const wasEstablished = this.current === 'Established';
    if (notification.send) this.emit({ type: 'send', message: notification.send });
    this.emit({ type: 'close' });
    this.stopTimers();
    if (wasEstablished && this.now() - this.establishedAt >= this.timings.stableAfterMs) this.failures = 0;
    this.failures++;
    const retryInMs = Math.round(nominalRetryDelayMs(this.failures, this.timings) * this.jitter());
    this.negotiatedValues = undefined;
    this.transition('Active');
    this.emit({
      type: 'down',
      reason: {
        kind,
        message,
        ...(notification.send || notification.received
          ? { notification: notification.send ?? notification.received }
          : {}),
        wasEstablished,
        retryInMs,
      },
    });
    this.startTimer('connectRetry', retryInMs);
  }

  private connect(): void {
    this.transition('Connect');
    this.emit({ type: 'connect' });
  }

  /** OpenSent, OpenConfirm and Established: a TCP connection is up and ours to close. */
  private connectionOpen(): boolean {
    return this.current === 'OpenSent' || this.current === 'OpenConfirm' || this.current === 'Established';
  }

  private restartHoldTimer(): void {
    const hold = this.negotiatedValues?.holdTimeSeconds ?? 0;
    if (hold === 0) this.stopTimer('hold');
    else this.startTimer('hold', hold * 1000);
  }

  private startKeepaliveTimer(): void {
    const keepalive = this.negotiatedValues?.keepaliveSeconds ?? 0;
    if (keepalive === 0) this.stopTimer('keepalive');
    else this.startTimer('keepalive', Math.round(keepalive * 1000 * this.jitter()));
  }

  private jitter(): number {
    return JITTER_LOW + (1 - JITTER_LOW) * this.random();
  }

  private startTimer(timer: TimerName, ms: number): void {
    this.running.add(timer);
    this.emit({ type: 'startTimer', timer, ms });
  }

  private stopTimer(timer: TimerName): void {
    if (this.running.delete(timer)) this.emit({ type: 'stopTimer', timer });
  }

  private stopTimers(): void {
    for (const timer of [...this.running]) this.stopTimer(timer);
  }

  private transition(to: BgpState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.emit({ type: 'stateChanged', from, to });
  }

  private emit(action: FsmAction): void {
    this.actions.push(action);
  }
}

function acceptableHoldTime(seconds: number): boolean {
  return (
    Number.isInteger(seconds) && (seconds === 0 || (seconds >= MIN_HOLD_TIME_SECONDS && seconds <= 0xffff))
  );
}

function defaultStopMessage(reason: StopReason): string {
  return reason === 'shutdown'
    ? 'metallb-ts speaker shutting down'
    : 'peer removed from the metallb-ts configuration';
}
