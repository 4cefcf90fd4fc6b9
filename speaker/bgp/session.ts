/**
 * One BGP session to one peer: the I/O shell around the pure FSM (fsm.ts). It owns the TCP
 * connection (tcp-connect.ts: MD5 and TTL through the native addon when asked for), a MessageReader
 * to cut the byte stream into messages, real timers, and the routes we want the peer to have.
 *
 * Routes: setRoutes() takes the whole Adj-RIB-Out wanted for this peer. While Established, the
 * session diffs it against what the peer was sent on this connection and sends only the changes,
 * packed into as few UPDATEs as fit (packing.ts); nothing when nothing changed. On every
 * (re)establishment it sends the whole table, then End-of-RIB for each negotiated family (RFC 4724
 * §2), which a graceful-restart router waits for before dropping routes we did not send again.
 * Inbound UPDATEs are decoded (a malformed one is handled as the codec's RFC 7606 classification
 * says, see fsm.ts) and otherwise ignored: we import nothing.
 */
import type net from 'node:net';
import type { Logger } from '../../shared/log.ts';
import { parseIp, type Family, type IpAddress } from '../../shared/ip/address.ts';
import {
  BgpFsm,
  type BgpFsmOptions,
  type BgpState,
  type DownReason,
  type FsmAction,
  type FsmEvent,
  type FsmTimings,
  type GracefulRestartOptions,
  type Negotiated,
  type StopReason,
  type TimerName,
} from './fsm.ts';
import { connectBgpTcp, type BgpConnectError, type BgpTcpOptions, BGP_PORT } from './tcp-connect.ts';
import { BgpWireError } from './wire/errors.ts';
import { decodeMessage, encodeMessage } from './wire/message.ts';
import { attributesKey, endOfRib, packUpdates, type PathAttributes, type Route } from './wire/packing.ts';
import { formatPrefix, prefixKey, type Prefix } from './wire/prefix.ts';
import type { SessionOptions as WireOptions } from './wire/session-options.ts';
import { MessageReader } from './wire/stream.ts';

/**
 * A route as packUpdates takes it, except that the next hop may be left out: the session then uses
 * its own address of the prefix's family (see BgpSessionOptions.nextHops), as MetalLB does.
 */
export interface SessionRoute {
  readonly prefix: Prefix;
  readonly attributes: Omit<PathAttributes, 'nextHop'> & { readonly nextHop?: IpAddress };
}

export interface SessionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BgpSessionOptions {
  readonly peerAddress: string;
  /** Default 179. */
  readonly peerPort?: number;
  /** MetalLB's `source-address`: bound before connecting. */
  readonly localAddress?: string;
  readonly myAsn: number;
  readonly peerAsn: number;
  /** Default: the connection's local IPv4 address (an IPv6 session then needs one). */
  readonly routerId?: IpAddress;
  /** Default 90 (MetalLB's). */
  readonly holdTimeSeconds?: number;
  readonly keepaliveTimeSeconds?: number;
  /** TCP MD5 signature key (MetalLB's `password`). */
  readonly password?: string;
  /** eBGP to a peer more than one hop away: TTL 255 instead of 1. Meaningless for iBGP. */
  readonly ebgpMultihop?: boolean;
  /**
   * Explicit TTL / hop limit of our segments. Default: 1 for single-hop eBGP (as FRR and BIRD send,
   * so our packets cannot leave the link), 255 for iBGP and multihop eBGP.
   */
  readonly ttl?: number;
  /** Families advertised in the OPEN; default both. */
  readonly families?: readonly Family[];
  readonly gracefulRestart?: GracefulRestartOptions;
  /**
   * Next hops for routes that carry none, per family. Default: the connection's local address for
   * its own family; routes of the other family without a next hop here are not announced (pending).
   */
  readonly nextHops?: { readonly 4?: IpAddress; readonly 6?: IpAddress };
  /** How long one TCP connect may take; default tcp-connect.ts's 5 s. */
  readonly connectTimeoutMs?: number;
  /** How long to wait for the peer to close after our NOTIFICATION and FIN; default 2 s. */
  readonly closeGraceMs?: number;
  readonly timings?: Partial<FsmTimings>;
  readonly log: Logger;
  /** Tests. */
  readonly random?: () => number;
  readonly now?: () => number;
  readonly timers?: SessionTimers;
  readonly connect?: (options: BgpTcpOptions) => Promise<net.Socket>;
}

export interface SessionCounters {
  readonly state: BgpState;
  /** UPDATE messages sent (End-of-RIB markers included): metallb_bgp_updates_total. */
  readonly updatesSent: number;
  /** Prefixes the peer has from us right now: metallb_bgp_announced_prefixes_total. */
  readonly prefixesAnnounced: number;
  /**
   * Wanted prefixes the peer does not have as wanted yet (all of them while the session is down),
   * plus withdrawals not yet sent: metallb_bgp_pending_prefixes_total.
   */
  readonly prefixesPending: number;
  readonly messagesReceived: number;
  readonly updatesReceived: number;
  /** Times the session reached Established. */
  readonly establishedCount: number;
}

export interface SessionEvents {
  state: (to: BgpState, from: BgpState) => void;
  established: (negotiated: Negotiated) => void;
  down: (reason: DownReason) => void;
}

const DEFAULT_CLOSE_GRACE_MS = 2_000;

interface Connection {
  readonly socket: net.Socket;
  readonly reader: MessageReader;
  /** Set once we closed it: data that still arrives is discarded. */
  closing: boolean;
  error: string | undefined;
  readonly closed: Promise<void>;
}

export class BgpSession {
  private readonly fsm: BgpFsm;
  private readonly log: Logger;
  private readonly timers: SessionTimers;
  private readonly running = new Map<TimerName, unknown>();
  private readonly listeners: { [E in keyof SessionEvents]: Set<SessionEvents[E]> } = {
    state: new Set(),
    established: new Set(),
    down: new Set(),
  };
  private readonly connectImpl: (options: BgpTcpOptions) => Promise<net.Socket>;
  private readonly ttl: number;
  /** What we want the peer to have, by prefix key. */
  private wanted = new Map<string, SessionRoute>();
  /**
   * Each wanted route with its next hop filled in and its attributes' identity, per route object.
   * Valid for one connection (the next hop may be its local address), so cleared with it.
   */
  private resolved = new WeakMap<SessionRoute, { route: Route; key: string } | null>();
  /**
   * The same for attribute sets, by object: routes that share one (sessions.ts interns them) share
   * its resolved form too, so a table of 10,000 routes is keyed once, and packing, which groups by
   * attribute object, sees one group instead of 10,000 copies.
   */
  private resolvedAttributes = new WeakMap<
    SessionRoute['attributes'],
    { attributes: PathAttributes; key: string }
  >();
  /** What the peer was sent on the current connection (resolved next hops), by prefix key. */
  private readonly advertised = new Map<string, { route: Route; key: string }>();
  private connection: Connection | undefined;
  private connecting: AbortController | undefined;
  /** Connections closing after a NOTIFICATION; stop() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private localAddress: IpAddress | undefined;
  private negotiated: Negotiated | undefined;
  private queue: FsmEvent[] = [];
  private dispatching = false;
  private ttlUnavailable = false;
  private updatesSent = 0;
  private messagesReceived = 0;
  private updatesReceived = 0;
  private establishedCount = 0;

  constructor(private readonly options: BgpSessionOptions) {
    this.log = options.log.with({ component: 'bgp', peer: options.peerAddress });
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
    this.connectImpl = options.connect ?? connectBgpTcp;
    const ebgp = options.myAsn !== options.peerAsn;
    this.ttl = options.ttl ?? (ebgp && !options.ebgpMultihop ? 1 : 255);
    const fsmOptions: BgpFsmOptions = {
      myAsn: options.myAsn,
      peerAsn: options.peerAsn,
      ...(options.routerId ? { routerId: options.routerId } : {}),
      ...(options.holdTimeSeconds !== undefined ? { holdTimeSeconds: options.holdTimeSeconds } : {}),
      ...(options.keepaliveTimeSeconds !== undefined
        ? { keepaliveTimeSeconds: options.keepaliveTimeSeconds }
        : {}),
      ...(options.families ? { families: options.families } : {}),
      ...(options.gracefulRestart ? { gracefulRestart: options.gracefulRestart } : {}),
      ...(options.timings ? { timings: options.timings } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.now ? { now: options.now } : {}),
    };
    this.fsm = new BgpFsm(fsmOptions);
  }

  get state(): BgpState {
    return this.fsm.state;
  }

  /** What the OPENs agreed on, while Established. */
  get session(): Negotiated | undefined {
    return this.negotiated;
  }

  get counters(): SessionCounters {
    return {
      state: this.fsm.state,
      updatesSent: this.updatesSent,
      prefixesAnnounced: this.negotiated ? this.advertised.size : 0,
      prefixesPending: this.pendingCount(),
      messagesReceived: this.messagesReceived,
      updatesReceived: this.updatesReceived,
      establishedCount: this.establishedCount,
    };
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): () => void {
    const set = this.listeners[event] as Set<SessionEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Starts connecting (at once) and keeps the session up, reconnecting with backoff, until stop(). */
  start(): void {
    this.dispatch({ type: 'start' });
  }

  /**
   * Sends a Cease (Administrative Shutdown for 'shutdown', Peer De-configured for 'deconfigured')
   * if a connection is open, closes it, and resolves once it is closed. The session may be started
   * again afterwards.
   */
  async stop(reason: StopReason, message?: string): Promise<void> {
    this.dispatch({ type: 'stop', reason, ...(message !== undefined ? { message } : {}) });
    await Promise.all([...this.closing]);
  }

  /**
   * The whole table wanted for this peer. While Established, only the difference to what the peer
   * has is sent; otherwise it is kept for the next establishment.
   */
  setRoutes(routes: readonly SessionRoute[]): void {
    const wanted = new Map<string, SessionRoute>();
    for (const route of routes) wanted.set(prefixKey(route.prefix), route);
    this.wanted = wanted;
    if (this.fsm.state === 'Established') this.sendChanges();
  }

  private dispatch(event: FsmEvent): void {
    this.queue.push(event);
    // Actions run listeners and socket calls; an event they cause waits for the current one.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const action of this.fsm.handle(next)) this.execute(action);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private execute(action: FsmAction): void {
    switch (action.type) {
      case 'connect':
        this.connect();
        return;
      case 'send':
        this.write([encodeMessage(action.message, this.wireOptions())]);
        return;
      case 'close':
        this.close();
        return;
      case 'startTimer':
        this.startTimer(action.timer, action.ms);
        return;
      case 'stopTimer':
        this.stopTimer(action.timer);
        return;
      case 'stateChanged':
        this.log.debug('bgp state', { from: action.from, to: action.to });
        for (const listener of this.listeners.state) listener(action.to, action.from);
        return;
      case 'established':
        this.onEstablished(action.negotiated);
        return;
      case 'down':
        this.onDown(action.reason);
        return;
      case 'sendTable':
        this.sendTable(action.family);
        return;
    }
  }

  private connect(): void {
    const abort = new AbortController();
    this.connecting = abort;
    const base: BgpTcpOptions = {
      host: this.options.peerAddress,
      port: this.options.peerPort ?? BGP_PORT,
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      ...(this.options.password !== undefined ? { md5Password: this.options.password } : {}),
      ...(this.options.connectTimeoutMs !== undefined ? { timeoutMs: this.options.connectTimeoutMs } : {}),
      signal: abort.signal,
    };
    const attempt = (): Promise<net.Socket> =>
      this.connectImpl(this.ttlUnavailable ? base : { ...base, ttl: this.ttl });
    attempt()
      .catch((error: unknown) => {
        // Without the addon there is no TTL control; that is worth a warning, not an outage. MD5
        // cannot be dropped like that: it fails below, and says why.
        if ((error as BgpConnectError).code !== 'ADDON_MISSING' || this.options.password !== undefined) {
          throw error;
        }
        this.ttlUnavailable = true;
        this.log.warn('connecting without setting the TTL', { error: (error as Error).message });
        return attempt();
      })
      .then(
        (socket) => {
          if (this.connecting !== abort) {
            socket.destroy(); // stopped meanwhile
            return;
          }
          this.connecting = undefined;
          this.attach(socket);
        },
        (error: unknown) => {
          if (this.connecting !== abort) return;
          this.connecting = undefined;
          const code = (error as { code?: unknown }).code;
          this.log.debug('connect failed', { error: (error as Error).message });
          this.dispatch({ type: 'tcpFailed', error: typeof code === 'string' ? code : String(error) });
        },
      );
  }

  private attach(socket: net.Socket): void {
    const connection: Connection = {
      socket,
      reader: new MessageReader(),
      closing: false,
      error: undefined,
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    this.connection = connection;
    let local: IpAddress | undefined;
    try {
      local = socket.localAddress ? parseIp(unmapped(socket.localAddress)) : undefined;
    } catch {
      local = undefined;
    }
    this.useLocalAddress(local);
    socket.on('data', (chunk: Buffer) => {
      if (!connection.closing) this.receive(connection, chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      connection.error = error.code ?? error.message;
    });
    socket.once('close', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.dispatch({
        type: 'tcpClosed',
        ...(connection.error !== undefined ? { error: connection.error } : {}),
      });
    });
    this.dispatch({
      type: 'tcpConnected',
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
    });
  }

  private receive(connection: Connection, chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = connection.reader.push(chunk);
    } catch (error) {
      this.dispatch({ type: 'decodeError', error: error as BgpWireError });
      return;
    }
    for (const bytes of messages) {
      // A message may have closed the connection: the rest of the chunk is no longer ours to read.
      if (this.connection !== connection || connection.closing) return;
      this.messagesReceived++;
      let message;
      try {
        message = decodeMessage(bytes, this.wireOptions());
      } catch (error) {
        if (error instanceof BgpWireError) {
          if (error.errorHandling !== 'session-reset') this.updatesReceived++;
          this.log.debug('malformed message', { error: error.message, handling: error.errorHandling });
          this.dispatch({ type: 'decodeError', error });
        } else {
          // Decoders promise BgpWireError only: anything else is our bug. Skip the message.
          this.log.error('decoding a BGP message failed', { error });
        }
        continue;
      }
      if (message.type === 'update') this.updatesReceived++;
      this.dispatch({ type: 'messageReceived', message });
    }
  }

  private close(): void {
    if (this.connecting) {
      this.connecting.abort();
      this.connecting = undefined;
    }
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    connection.closing = true;
    const { socket } = connection;
    // FIN after whatever was queued (the NOTIFICATION), and keep reading (and discarding) until the
    // peer closes too: closing a socket with unread data makes Linux send a RST, which can destroy
    // the NOTIFICATION still in flight. A peer that never closes is cut off after the grace period.
    socket.end();
    socket.resume();
    const timer = this.timers.setTimeout(
      () => socket.destroy(),
      this.options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
    );
    const closed = connection.closed.then(() => this.timers.clearTimeout(timer));
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
  }

  private write(messages: readonly Buffer[]): void {
    const connection = this.connection;
    if (!connection || connection.closing || messages.length === 0) return;
    // One write per batch: the kernel packs it into as few segments as it can.
    connection.socket.write(messages.length === 1 ? messages[0]! : Buffer.concat(messages));
  }

  private startTimer(timer: TimerName, ms: number): void {
    this.stopTimer(timer);
    this.running.set(
      timer,
      this.timers.setTimeout(() => {
        this.running.delete(timer);
        this.dispatch({ type: 'timerExpired', timer });
      }, ms),
    );
  }

  private stopTimer(timer: TimerName): void {
    const handle = this.running.get(timer);
    if (handle === undefined) return;
    this.timers.clearTimeout(handle);
    this.running.delete(timer);
  }

  private onEstablished(negotiated: Negotiated): void {
    this.negotiated = negotiated;
    this.establishedCount++;
    this.advertised.clear();
    const restarting = this.options.gracefulRestart?.restarting ?? false;
    this.log.info('bgp session established', {
      peerAsn: negotiated.peerAsn,
      peerRouterId: negotiated.peerRouterId,
      holdTime: negotiated.holdTimeSeconds,
      families: negotiated.families.map((f) => `ipv${f}`),
      fourOctetAs: negotiated.fourOctetAs,
      peerGracefulRestart: negotiated.gracefulRestart !== undefined,
      ...(restarting ? { restarting } : {}),
    });
    // The whole table, then End-of-RIB per family.
    const { announce } = this.changes();
    const unresolvable = this.unresolvable();
    if (unresolvable.length > 0) {
      this.log.warn('routes without a next hop of their family are not announced', {
        prefixes: unresolvable.slice(0, 10).map((route) => formatPrefix(route.prefix)),
        count: unresolvable.length,
      });
    }
    const messages = this.pack(announce, []);
    for (const family of negotiated.families) messages.push(endOfRib(family));
    this.send(messages);
    for (const listener of this.listeners.established) listener(negotiated);
  }

  private onDown(reason: DownReason): void {
    this.negotiated = undefined;
    this.advertised.clear();
    this.useLocalAddress(undefined);
    const fields = {
      reason: reason.message,
      ...(reason.retryInMs !== undefined ? { retryInMs: reason.retryInMs } : {}),
    };
    if (reason.kind === 'stopped') this.log.info('bgp session stopped', fields);
    else if (reason.wasEstablished) this.log.warn('bgp session down', fields);
    else this.log.debug('bgp connection attempt failed', fields);
    for (const listener of this.listeners.down) listener(reason);
  }

  /** ROUTE-REFRESH: everything the peer has of that family, again. */
  private sendTable(family: Family): void {
    const routes = [...this.advertised.values()].flatMap(({ route }) =>
      route.prefix.family === family ? [route] : [],
    );
    this.log.debug('route refresh', { family: `ipv${family}`, prefixes: routes.length });
    this.send(packUpdates(routes, [], this.wireOptions()));
  }

  private sendChanges(): void {
    const { announce, withdraw } = this.changes();
    if (announce.length === 0 && withdraw.length === 0) return;
    this.send(this.pack(announce, withdraw));
  }

  /** Packs and records what the peer will have. */
  private pack(announce: readonly { route: Route; key: string }[], withdraw: readonly Prefix[]): Buffer[] {
    const messages = packUpdates(
      announce.map(({ route }) => route),
      withdraw,
      this.wireOptions(),
    );
    for (const prefix of withdraw) this.advertised.delete(prefixKey(prefix));
    for (const entry of announce) this.advertised.set(prefixKey(entry.route.prefix), entry);
    return messages;
  }

  private send(messages: Buffer[]): void {
    if (messages.length === 0) return;
    this.updatesSent += messages.length;
    this.write(messages);
  }

  /**
   * The announcements and withdrawals that take the peer from what it has to what we want, for the
   * negotiated families. A wanted route without a usable next hop is withdrawn if the peer had it,
   * and stays pending.
   */
  private changes(): { announce: { route: Route; key: string }[]; withdraw: Prefix[] } {
    const families = this.negotiated?.families ?? [];
    const announce: { route: Route; key: string }[] = [];
    const keep = new Set<string>();
    for (const [prefix, wanted] of this.wanted) {
      if (!families.includes(wanted.prefix.family)) continue;
      const resolved = this.resolvedWithKey(wanted);
      if (!resolved) continue;
      keep.add(prefix);
      if (this.advertised.get(prefix)?.key !== resolved.key) announce.push(resolved);
    }
    const withdraw = [...this.advertised].flatMap(([prefix, { route }]) =>
      keep.has(prefix) ? [] : [route.prefix],
    );
    return { announce, withdraw };
  }

  private resolvedWithKey(wanted: SessionRoute): { route: Route; key: string } | undefined {
    let resolved = this.resolved.get(wanted);
    if (resolved === undefined) {
      const attributes = this.resolve(wanted);
      resolved = attributes
        ? { route: { prefix: wanted.prefix, attributes: attributes.attributes }, key: attributes.key }
        : null;
      this.resolved.set(wanted, resolved);
    }
    return resolved ?? undefined;
  }

  /** The route's attributes with its next hop filled in, or undefined when it has none to use. */
  private resolve(route: SessionRoute): { attributes: PathAttributes; key: string } | undefined {
    const family = route.prefix.family;
    const nextHop =
      route.attributes.nextHop ??
      this.options.nextHops?.[family] ??
      (this.localAddress?.family === family ? this.localAddress : undefined);
    if (!nextHop) return undefined;
    // An explicit next hop makes the set the route's own; the usual implicit one is per family.
    const cacheable = route.attributes.nextHop === undefined;
    const known = cacheable ? this.resolvedAttributes.get(route.attributes) : undefined;
    if (known && known.attributes.nextHop === nextHop) return known;
    const attributes = { ...route.attributes, nextHop };
    const made = { attributes, key: attributesKey(attributes) };
    if (cacheable) this.resolvedAttributes.set(route.attributes, made);
    return made;
  }

  private pendingCount(): number {
    if (this.fsm.state !== 'Established') return this.wanted.size;
    const { announce, withdraw } = this.changes();
    return announce.length + withdraw.length + this.unresolvable().length;
  }

  /** Wanted routes of a negotiated family that have no next hop to be sent with. */
  private unresolvable(): SessionRoute[] {
    const families = this.negotiated?.families ?? [];
    return [...this.wanted.values()].filter(
      (route) => families.includes(route.prefix.family) && !this.resolvedWithKey(route),
    );
  }

  /** The next hop of routes without one depends on it: their resolutions go with it. */
  private useLocalAddress(address: IpAddress | undefined): void {
    this.localAddress = address;
    this.resolved = new WeakMap();
    this.resolvedAttributes = new WeakMap();
  }

  private wireOptions(): WireOptions {
    return { fourOctetAs: this.fsm.negotiated?.fourOctetAs ?? false };
  }
}

/** `::ffff:10.0.0.1` (an IPv4 peer reached through an IPv6 socket) as plain IPv4. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
