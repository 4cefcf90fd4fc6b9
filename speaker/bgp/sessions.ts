/**
 * The BGP sink. Told the peers this node must have and the routes it may advertise, it keeps one
 * session per peer: new peers are started, removed ones get a Cease "Peer De-configured", a peer
 * whose settings changed is replaced the same way, and unchanged sessions are never disturbed.
 * Per session it builds the attributes MetalLB sends: ORIGIN IGP, AS_PATH empty on iBGP and [our AS]
 * on eBGP, LOCAL_PREF on iBGP only (default 100), communities; the session adds the next hop.
 */
import type { Peer } from '../../shared/config/types.ts';
import { formatIp, type IpAddress } from '../../shared/ip/address.ts';
import type { Logger } from '../../shared/log.ts';
import type { Registry } from '../../shared/metrics.ts';
import type { BgpPort } from '../ports.ts';
import type { StopReason } from './fsm.ts';
import type { AdvertisedRoute } from './routes.ts';
import type { BgpSessionOptions, SessionCounters, SessionRoute } from './session.ts';

/** The parts of BgpSession the manager uses (tests give fakes). */
export interface SessionHandle {
  start(): void;
  stop(reason: StopReason): Promise<void>;
  setRoutes(routes: readonly SessionRoute[]): void;
  readonly counters: SessionCounters;
}

export interface BgpSessionsOptions {
  readonly createSession: (options: BgpSessionOptions) => SessionHandle;
  /** This node's addresses, for router ids and next hops of the family a session is not of. */
  readonly nodeAddresses: { readonly 4?: IpAddress | undefined; readonly 6?: IpAddress | undefined };
  readonly log: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
  /**
   * Sessions first opened this soon after the speaker started set the graceful-restart R bit, so a
   * router that kept our routes through our restart keeps them until our End-of-RIB.
   */
  readonly restartWindowMs?: number;
}

/** iBGP LOCAL_PREF when the advertisement sets none (the BGP default; MetalLB sent 0). */
export const DEFAULT_LOCAL_PREF = 100;
const DEFAULT_RESTART_WINDOW_MS = 60_000;

interface Running {
  readonly peer: Peer;
  readonly fingerprint: string;
  readonly session: SessionHandle;
  /** This peer's form of each route object, kept while the route object lives (see routes.ts). */
  readonly sessionRoutes: WeakMap<AdvertisedRoute, SessionRoute>;
  /**
   * One attributes object per distinct attribute set (and family, whose next hop differs): routes
   * sharing it are diffed and packed as one group by identity (session.ts, packing.ts).
   */
  readonly attributeSets: Map<string, SessionRoute['attributes']>;
}

const peerName = (peer: Peer): string => `${formatIp(peer.peerAddress)}:${peer.peerPort}`;

/** Everything that, when changed, needs a new session (BigInts as text for JSON). */
const fingerprint = (peer: Peer): string =>
  JSON.stringify(peer, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

export class BgpSessions implements BgpPort {
  private readonly running = new Map<string, Running>();
  private readonly startedAt: number;
  private routes: readonly AdvertisedRoute[] = [];

  constructor(private readonly options: BgpSessionsOptions) {
    this.startedAt = this.now();
    this.registerMetrics();
  }

  setDesired(peers: readonly Peer[], routes: readonly AdvertisedRoute[]): void {
    this.routes = routes;
    const wanted = new Map(peers.map((peer) => [peerName(peer), peer]));
    for (const [name, running] of this.running) {
      const peer = wanted.get(name);
      if (peer && fingerprint(peer) === running.fingerprint) continue;
      this.running.delete(name);
      this.options.log.info(peer ? 'peer changed, reconnecting' : 'peer removed', { peer: name });
      void running.session.stop('deconfigured');
    }
    for (const [name, peer] of wanted) {
      if (!this.running.has(name)) this.running.set(name, this.open(peer));
    }
    for (const running of this.running.values()) running.session.setRoutes(this.sessionRoutes(running));
  }

  /** Speaker shutdown: Cease "Administrative Shutdown" to every peer. */
  async shutdown(): Promise<void> {
    const stopping = [...this.running.values()].map((running) => running.session.stop('shutdown'));
    this.running.clear();
    await Promise.all(stopping);
  }

  private open(peer: Peer): Running {
    const { nodeAddresses } = this.options;
    const family = peer.peerAddress.family;
    const otherFamily = family === 4 ? 6 : 4;
    const session = this.options.createSession({
      peerAddress: formatIp(peer.peerAddress),
      peerPort: peer.peerPort,
      ...(peer.sourceAddress ? { localAddress: formatIp(peer.sourceAddress) } : {}),
      myAsn: peer.myAsn,
      peerAsn: peer.peerAsn,
      // RFC 4271 needs an IPv4-shaped identifier even on an IPv6 session.
      ...(peer.routerId
        ? { routerId: peer.routerId }
        : nodeAddresses[4]
          ? { routerId: nodeAddresses[4] }
          : {}),
      holdTimeSeconds: peer.holdTimeSeconds,
      keepaliveTimeSeconds: peer.keepaliveTimeSeconds,
      ...(peer.password ? { password: peer.password } : {}),
      ebgpMultihop: peer.ebgpMultihop,
      ...(nodeAddresses[otherFamily] ? { nextHops: { [otherFamily]: nodeAddresses[otherFamily] } } : {}),
      gracefulRestart: {
        restarting: this.now() - this.startedAt < (this.options.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS),
      },
      log: this.options.log,
    });
    this.options.log.info('peer added', { peer: peerName(peer) });
    session.start();
    return {
      peer,
      fingerprint: fingerprint(peer),
      session,
      sessionRoutes: new WeakMap(),
      attributeSets: new Map(),
    };
  }

  private sessionRoutes({ peer, sessionRoutes, attributeSets }: Running): SessionRoute[] {
    const ebgp = peer.myAsn !== peer.peerAsn;
    return this.routes.map((route) => {
      const known = sessionRoutes.get(route);
      if (known) return known;
      const localPref = ebgp ? undefined : (route.localPref ?? DEFAULT_LOCAL_PREF);
      const setKey = JSON.stringify([
        route.prefix.family,
        localPref,
        route.communities,
        route.largeCommunities,
      ]);
      let attributes = attributeSets.get(setKey);
      if (!attributes) {
        attributes = {
          origin: 'igp',
          asPath: ebgp ? [peer.myAsn] : [],
          ...(localPref === undefined ? {} : { localPref }),
          communities: route.communities,
          largeCommunities: route.largeCommunities,
        };
        attributeSets.set(setKey, attributes);
      }
      const made: SessionRoute = { prefix: route.prefix, attributes };
      sessionRoutes.set(route, made);
      return made;
    });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** MetalLB's BGP series, read from the sessions at scrape time. */
  private registerMetrics(): void {
    const { registry } = this.options;
    const up = registry.gauge('metallb_bgp_session_up', 'BGP session state (1 is up, 0 is down)');
    const updates = registry.gauge('metallb_bgp_updates_total', 'Number of BGP UPDATE messages sent');
    const announced = registry.gauge(
      'metallb_bgp_announced_prefixes_total',
      'Number of prefixes currently being advertised on the BGP session',
    );
    const pending = registry.gauge(
      'metallb_bgp_pending_prefixes_total',
      'Number of prefixes that should be advertised on the BGP session',
    );
    registry.onCollect(() => {
      const names = new Set(this.running.keys());
      for (const gauge of [up, updates, announced, pending])
        gauge.retain((labels) => names.has(labels['peer'] ?? ''));
      for (const [peer, { session }] of this.running) {
        const counters = session.counters;
        up.set({ peer }, counters.state === 'Established' ? 1 : 0);
        updates.set({ peer }, counters.updatesSent);
        announced.set({ peer }, counters.prefixesAnnounced);
        pending.set({ peer }, counters.prefixesPending);
      }
    });
  }
}
