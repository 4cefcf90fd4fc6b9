/**
 * The layer-2 sink. Told the whole set of addresses this node owns (setOwned) and the interfaces
 * to use (setInterfaces), it works out the difference itself:
 * - answers ARP requests (RFC 826) and Neighbor Solicitations (RFC 4861 §7.2.4) for owned
 *   addresses only, on the interface they arrived on; non-owners stay silent;
 * - joins the solicited-node multicast group of each owned IPv6 address (RFC 4861 §7.2.1), and
 *   leaves it when the address goes;
 * - on taking an address, announces it: gratuitous ARP pair / unsolicited NA (§7.2.6) at once and
 *   then on a schedule (MetalLB: every 1.1 s for 5 s, which clears Linux's 1 s ARP locktime), and
 *   optionally forever at an interval for switches whose FDB ages out (MetalLB issue 2910).
 * Frames that fail to decode are dropped and counted, never thrown.
 */
import { MetallbError } from '../../shared/errors.ts';
import { formatIp, type IpAddress } from '../../shared/ip/address.ts';
import type { Logger } from '../../shared/log.ts';
import type { Layer2Port } from '../ports.ts';
import { arpReply, decodeArp, gratuitousArp } from './arp.ts';
import type { AnnounceInterface } from './interfaces.ts';
import type { Layer2Metrics } from './layer2-metrics.ts';
import { parseMac } from './mac.ts';
import {
  decodeNeighborSolicitation,
  solicitedNeighborAdvertisement,
  solicitedNodeMulticastMac,
  unsolicitedNeighborAdvertisement,
} from './ndp.ts';

/** What the announcer needs of a packet socket (the real one is speaker/layer2/packet-socket.ts). */
export interface FrameSocket {
  send(frame: Buffer): void;
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  close(): void;
}

export interface AnnouncerIo {
  openArp(iface: AnnounceInterface, onFrame: (frame: Buffer) => void): FrameSocket;
  openNdp(iface: AnnounceInterface, onFrame: (frame: Buffer) => void): FrameSocket;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AnnouncerOptions {
  readonly io: AnnouncerIo;
  readonly metrics: Layer2Metrics;
  readonly log: Logger;
  /** When to announce after taking an address, in ms from the takeover. */
  readonly gratuitousScheduleMs?: readonly number[];
  /** Re-announce every owned address this often, forever; undefined = never (the default). */
  readonly periodicMs?: number | undefined;
}

/** MetalLB's schedule: at once, then every 1.1 s for 5 s. */
export const DEFAULT_GRATUITOUS_SCHEDULE_MS = [0, 1100, 2200, 3300, 4400];

interface Link {
  readonly iface: AnnounceInterface;
  readonly mac: Buffer;
  readonly arp: FrameSocket;
  readonly ndp: FrameSocket;
}

interface Owned {
  readonly ip: IpAddress;
  readonly text: string;
  timers: unknown[];
  /** Metric handles, bound once: requests arrive at line rate. */
  readonly requests: { inc(): void };
  readonly responses: { inc(): void };
  readonly gratuitous: { inc(): void };
}

/**
 * The owned-address key. Every ARP request on the segment is looked up, owned or not, so the key
 * must be cheap: formatting an address as text costs far more than the lookup.
 */
const ownedKey = (ip: IpAddress): string => (ip.family === 4 ? `4:${ip.value}` : `6:${ip.value}`);

export class Announcer implements Layer2Port {
  private readonly links = new Map<number, Link>();
  private readonly owned = new Map<string, Owned>();
  private periodicTimer: unknown;
  private closed = false;

  constructor(private readonly options: AnnouncerOptions) {
    this.schedulePeriodic();
  }

  /** The addresses owned now, in text form (for tests and debugging). */
  get ownedAddresses(): string[] {
    return [...this.owned.values()].map((owned) => owned.text);
  }

  setInterfaces(interfaces: readonly AnnounceInterface[]): void {
    const wanted = new Map(interfaces.map((iface) => [iface.index, iface]));
    for (const [index, link] of this.links) {
      const now = wanted.get(index);
      if (now && now.mac === link.iface.mac && now.name === link.iface.name) continue;
      this.closeLink(link);
      this.links.delete(index);
    }
    for (const iface of interfaces) {
      if (this.links.has(iface.index)) continue;
      const link = this.openLink(iface);
      if (!link) continue;
      this.links.set(iface.index, link);
      // A new interface learns about what we already own, and its neighbours hear it once.
      for (const owned of this.owned.values()) {
        if (owned.ip.family === 6) link.ndp.addMulticast(solicitedNodeMulticastMac(owned.ip));
        this.announceOn(link, owned);
      }
    }
  }

  setOwned(ips: readonly IpAddress[]): void {
    if (this.closed) return;
    const wanted = new Map(ips.map((ip) => [ownedKey(ip), ip]));
    for (const [key, owned] of this.owned) {
      if (wanted.has(key)) continue;
      this.owned.delete(key);
      this.cancel(owned);
      if (owned.ip.family === 6) {
        this.forEachLink((link) => link.ndp.dropMulticast(solicitedNodeMulticastMac(owned.ip)));
      }
      this.options.log.info('released address', { ip: owned.text });
    }
    for (const [key, ip] of wanted) {
      if (this.owned.has(key)) continue;
      const text = formatIp(ip);
      const { metrics } = this.options;
      const owned: Owned = {
        ip,
        text,
        timers: [],
        requests: metrics.requestsReceived.child({ ip: text }),
        responses: metrics.responsesSent.child({ ip: text }),
        gratuitous: metrics.gratuitousSent.child({ ip: text }),
      };
      this.owned.set(key, owned);
      if (ip.family === 6) this.forEachLink((link) => link.ndp.addMulticast(solicitedNodeMulticastMac(ip)));
      this.options.log.info('took address', { ip: text });
      const { io } = this.options;
      const schedule = this.options.gratuitousScheduleMs ?? DEFAULT_GRATUITOUS_SCHEDULE_MS;
      // The first burst goes out now, not a timer tick later: it is what moves the traffic.
      if (schedule.includes(0)) this.announce(owned);
      owned.timers = schedule
        .filter((delay) => delay > 0)
        .map((delay) => io.setTimeout(() => this.announce(owned), delay));
    }
  }

  /** Stops answering and announcing; closes every socket. */
  close(): void {
    this.closed = true;
    for (const owned of this.owned.values()) this.cancel(owned);
    this.owned.clear();
    this.options.io.clearTimeout(this.periodicTimer);
    for (const link of this.links.values()) this.closeLink(link);
    this.links.clear();
  }

  private openLink(iface: AnnounceInterface): Link | undefined {
    const { io, log } = this.options;
    try {
      const mac = parseMac(iface.mac);
      const arp = io.openArp(iface, (frame) => this.onArp(iface.index, frame));
      let ndp: FrameSocket;
      try {
        ndp = io.openNdp(iface, (frame) => this.onSolicitation(iface.index, frame));
      } catch (error) {
        arp.close();
        throw error;
      }
      log.info('announcing on interface', { interface: iface.name, mac: iface.mac });
      return { iface, mac, arp, ndp };
    } catch (error) {
      log.error('cannot open packet sockets on interface', { interface: iface.name, error });
      return undefined;
    }
  }

  private closeLink(link: Link): void {
    link.arp.close();
    link.ndp.close();
  }

  private forEachLink(action: (link: Link) => void): void {
    for (const link of this.links.values()) action(link);
  }

  private cancel(owned: Owned): void {
    for (const timer of owned.timers) this.options.io.clearTimeout(timer);
    owned.timers = [];
  }

  private schedulePeriodic(): void {
    const { periodicMs, io } = this.options;
    if (periodicMs === undefined || this.closed) return;
    this.periodicTimer = io.setTimeout(() => {
      for (const owned of this.owned.values()) this.announce(owned);
      this.schedulePeriodic();
    }, periodicMs);
  }

  private announce(owned: Owned): void {
    if (this.owned.get(ownedKey(owned.ip)) !== owned) return;
    this.forEachLink((link) => this.announceOn(link, owned));
  }

  private announceOn(link: Link, owned: Owned): void {
    const frames =
      owned.ip.family === 4
        ? { socket: link.arp, list: gratuitousArp({ mac: link.mac, ip: owned.ip }) }
        : { socket: link.ndp, list: [unsolicitedNeighborAdvertisement({ mac: link.mac, ip: owned.ip })] };
    for (const frame of frames.list) this.send(link, frames.socket, frame, owned, 'gratuitous');
  }

  private onArp(index: number, frame: Buffer): void {
    const link = this.links.get(index);
    if (!link) return;
    let request;
    try {
      request = decodeArp(frame);
    } catch (error) {
      return this.dropped(error);
    }
    if (request.operation !== 'request') return;
    const owned = this.owned.get(ownedKey(request.targetIp));
    if (!owned) return;
    owned.requests.inc();
    const reply = arpReply({
      srcMac: link.mac,
      dstMac: request.senderMac,
      senderIp: owned.ip,
      targetMac: request.senderMac,
      targetIp: request.senderIp,
    });
    this.send(link, link.arp, reply, owned, 'response');
  }

  private onSolicitation(index: number, frame: Buffer): void {
    const link = this.links.get(index);
    if (!link) return;
    let solicitation;
    try {
      solicitation = decodeNeighborSolicitation(frame);
    } catch (error) {
      return this.dropped(error);
    }
    const owned = this.owned.get(ownedKey(solicitation.target));
    if (!owned) return;
    owned.requests.inc();
    this.send(
      link,
      link.ndp,
      solicitedNeighborAdvertisement({ mac: link.mac, solicitation }),
      owned,
      'response',
    );
  }

  private send(
    link: Link,
    socket: FrameSocket,
    frame: Buffer,
    owned: Owned,
    kind: 'response' | 'gratuitous',
  ): void {
    try {
      socket.send(frame);
    } catch (error) {
      // An interface going down is routine; the next scan closes the link.
      this.options.log.warn('cannot send', { interface: link.iface.name, ip: owned.text, error });
      return;
    }
    (kind === 'response' ? owned.responses : owned.gratuitous).inc();
  }

  private dropped(error: unknown): void {
    if (!(error instanceof MetallbError)) throw error;
    this.options.metrics.framesDropped.inc({ code: error.code });
  }
}
