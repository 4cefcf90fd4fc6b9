/**
 * What the speakers should announce, as a pure function of what they know: the config's pools,
 * the Services with their published addresses and endpoint placement, the Nodes, and which
 * speakers are alive. Every speaker computes the same answer; each then acts on its own part.
 */
import type { AddressPool, Protocol } from '../shared/config/types.ts';
import { formatIp, type IpAddress } from '../shared/ip/address.ts';
import { rangeContains } from '../shared/ip/range.ts';
import { electAnnouncer } from './layer2/election.ts';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface NodeView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Condition NetworkUnavailable=True: the node's network is not set up, it cannot serve. */
  readonly networkUnavailable: boolean;
}

export interface ServiceView {
  readonly key: string;
  readonly ips: readonly IpAddress[];
  /** The same addresses as text (formatIp), computed once per view: recomputations are frequent. */
  readonly ipTexts: readonly string[];
  readonly trafficPolicy: 'Cluster' | 'Local';
  /** Nodes with at least one ready endpoint of this Service. */
  readonly readyEndpointNodes: ReadonlySet<string>;
  /** Any ready endpoint at all (some may have no node name). */
  readonly hasReadyEndpoints: boolean;
  /** The Service's ports with their NodePorts, for the node proxy. */
  readonly ports: readonly ServicePort[];
}

export interface ServicePort {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** Absent when the Service has none (allocateLoadBalancerNodePorts: false). */
  readonly nodePort: number | undefined;
}

export interface DesiredStateInput {
  readonly pools: readonly AddressPool[];
  readonly services: readonly ServiceView[];
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly alive: ReadonlySet<string>;
}

export interface Announcement {
  readonly ip: IpAddress;
  readonly ipText: string;
  readonly pool: string;
  readonly protocol: Protocol;
  /** Services published on this address (more than one when shared), sorted. */
  readonly services: readonly string[];
  /** Layer 2: the one node that announces it, or undefined when none can. */
  readonly announcer: string | undefined;
  /**
   * BGP: every node that may advertise it, sorted. Liveness plays no part here: a dead node's BGP
   * sessions drop, and the routers withdraw its paths themselves.
   */
  readonly advertisers: readonly string[];
}

/** Nodes among `candidates` that may serve a Service: usable, with endpoints where policy needs them. */
function eligibleNodes(
  service: ServiceView,
  input: DesiredStateInput,
  candidates: Iterable<string>,
): Set<string> {
  const eligible = new Set<string>();
  if (!service.hasReadyEndpoints) return eligible;
  for (const name of candidates) {
    const node = input.nodes.get(name);
    if (!node || node.networkUnavailable || EXCLUDE_LABEL in node.labels) continue;
    if (service.trafficPolicy === 'Local' && !service.readyEndpointNodes.has(name)) continue;
    eligible.add(name);
  }
  return eligible;
}

interface AddressUsers {
  readonly ip: IpAddress;
  readonly services: ServiceView[];
}

/** The Services published on each address, in input order. */
function usersByAddress(services: readonly ServiceView[]): Map<string, AddressUsers> {
  const byIp = new Map<string, AddressUsers>();
  for (const service of services) {
    for (const [index, ip] of service.ips.entries()) {
      const text = service.ipTexts[index] ?? formatIp(ip);
      const entry = byIp.get(text);
      if (entry) entry.services.push(service);
      else byIp.set(text, { ip, services: [service] });
    }
  }
  return byIp;
}

/** One address's announcement, or undefined when the address is in no pool. */
function announcementFor(
  ipText: string,
  { ip, services }: AddressUsers,
  input: DesiredStateInput,
): Announcement | undefined {
  const pool = input.pools.find((p) => p.ranges.some((range) => rangeContains(range, ip)));
  // An address outside every pool is not ours to announce (a stale status, another implementation).
  if (!pool) return undefined;
  // Sharers must reach the same backends (the controller enforces it), so a node able to serve
  // any of them serves them all; taking the union keeps a shared address on exactly one node.
  const eligibleAmong = (candidates: Iterable<string>) =>
    new Set(services.flatMap((service) => [...eligibleNodes(service, input, candidates)]));
  const layer2 = pool.protocol === 'layer2';
  return {
    ip,
    ipText,
    pool: pool.name,
    protocol: pool.protocol,
    services: services.map((s) => s.key).sort(),
    announcer: layer2 ? electAnnouncer(ipText, eligibleAmong(input.alive)) : undefined,
    advertisers: layer2 ? [] : [...eligibleAmong(input.nodes.keys())].sort(),
  };
}

const byAddress = (a: Announcement, b: Announcement): number => (a.ipText < b.ipText ? -1 : 1);

export function desiredAnnouncements(input: DesiredStateInput): Announcement[] {
  return [...usersByAddress(input.services)]
    .flatMap(([ipText, users]) => announcementFor(ipText, users, input) ?? [])
    .sort(byAddress);
}

/**
 * desiredAnnouncements for a speaker that recomputes after every watch event: an address whose
 * Services are the same view objects as last time, under the same pools, nodes and alive set
 * (compared by identity, as the speaker keeps them until they change), keeps its announcement
 * object. One Service's change then costs one announcement, and the identical objects let the
 * route and session stages downstream skip their work too. Announcements come in the Services'
 * order, unsorted: every consumer keys them by address.
 */
interface AddressState {
  readonly services: readonly ServiceView[];
  readonly announcement: Announcement | undefined;
}

export class IncrementalDesiredState {
  private previous = new Map<string, AddressState>();
  private context: Omit<DesiredStateInput, 'services'> | undefined;

  compute(input: DesiredStateInput): Announcement[] {
    const { pools, nodes, alive } = input;
    const sameContext =
      this.context?.pools === pools && this.context.nodes === nodes && this.context.alive === alive;
    this.context = { pools, nodes, alive };
    const current = new Map<string, AddressState>();
    const announcements: Announcement[] = [];
    for (const [ipText, users] of usersByAddress(input.services)) {
      const before = sameContext ? this.previous.get(ipText) : undefined;
      const entry =
        before && sameViews(before.services, users.services)
          ? before
          : { services: users.services, announcement: announcementFor(ipText, users, input) };
      current.set(ipText, entry);
      if (entry.announcement) announcements.push(entry.announcement);
    }
    this.previous = current;
    return announcements;
  }
}

function sameViews(a: readonly ServiceView[], b: readonly ServiceView[]): boolean {
  return a.length === b.length && a.every((view, index) => view === b[index]);
}
