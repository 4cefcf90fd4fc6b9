/**
 * What this node advertises over BGP, as a pure function of the desired announcements: for each
 * address in a bgp pool that this node may serve, one route per advertisement, the prefix being the
 * address masked to the advertisement's aggregation length. Advertisements that yield the same
 * prefix become one route with their communities merged (config validation already made their
 * local preferences agree), since a router can hold only one path per prefix from us.
 */
import type { AddressPool, BgpAdvertisement, Community } from '../../shared/config/types.ts';
import { formatIp, maskIp, type IpAddress } from '../../shared/ip/address.ts';
import type { Announcement } from '../desired-state.ts';

export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

export interface AdvertisedRoute {
  readonly prefix: { readonly family: 4 | 6; readonly address: IpAddress; readonly length: number };
  /** The prefix as text, `10.0.0.0/24`: the route's identity. */
  readonly key: string;
  readonly localPref: number | undefined;
  /** RFC 1997 values, sorted, without duplicates. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/** A bgp pool without advertisements advertises each address as a host route (MetalLB's default). */
const DEFAULT_ADVERTISEMENT: BgpAdvertisement = {
  aggregationLength: 32,
  aggregationLengthV6: 128,
  localPref: undefined,
  communities: [],
};

const largeKey = (c: LargeCommunity): string => `${c.globalAdmin}:${c.localData1}:${c.localData2}`;

/** What one announcement contributes: one prefix per advertisement of its pool. */
interface RouteFragment {
  readonly route: Omit<AdvertisedRoute, 'communities' | 'largeCommunities'>;
  readonly communities: readonly Community[];
}

function fragmentsFor(announcement: Announcement, pools: readonly AddressPool[]): RouteFragment[] {
  const pool = pools.find((p) => p.name === announcement.pool);
  const advertisements = pool?.bgpAdvertisements.length ? pool.bgpAdvertisements : [DEFAULT_ADVERTISEMENT];
  return advertisements.map((advertisement) => {
    const { ip } = announcement;
    const length = ip.family === 4 ? advertisement.aggregationLength : advertisement.aggregationLengthV6;
    const address = maskIp(ip, length);
    const key = `${formatIp(address)}/${length}`;
    return {
      route: { prefix: { family: ip.family, address, length }, key, localPref: advertisement.localPref },
      communities: advertisement.communities,
    };
  });
}

/** One route from the fragments sharing its prefix, their communities merged. */
function mergeFragments(fragments: readonly RouteFragment[]): AdvertisedRoute {
  const communities = fragments.flatMap((fragment) => fragment.communities);
  const standard = communities.flatMap((c) => (c.kind === 'standard' ? [c.value] : []));
  const large = new Map(communities.flatMap((c) => (c.kind === 'large' ? [[largeKey(c), c] as const] : [])));
  return {
    // Fragments with one key agree on everything but communities.
    ...fragments[0]!.route,
    communities: [...new Set(standard)].sort((a, b) => a - b),
    largeCommunities: [...large.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c),
  };
}

const advertisedFrom = (node: string) => (announcement: Announcement) =>
  announcement.protocol === 'bgp' && announcement.advertisers.includes(node);

function groupByPrefix(fragments: Iterable<RouteFragment>): Map<string, RouteFragment[]> {
  const byKey = new Map<string, RouteFragment[]>();
  for (const fragment of fragments) {
    const group = byKey.get(fragment.route.key);
    if (group) group.push(fragment);
    else byKey.set(fragment.route.key, [fragment]);
  }
  return byKey;
}

const byPrefixKey = (a: AdvertisedRoute, b: AdvertisedRoute): number => (a.key < b.key ? -1 : 1);

export function routesForNode(
  announcements: readonly Announcement[],
  pools: readonly AddressPool[],
  node: string,
): AdvertisedRoute[] {
  const fragments = announcements.filter(advertisedFrom(node)).flatMap((a) => fragmentsFor(a, pools));
  return [...groupByPrefix(fragments).values()].map(mergeFragments).sort(byPrefixKey);
}

/**
 * routesForNode for a speaker recomputing after every event: fragments are remembered per
 * announcement object (IncrementalDesiredState keeps unchanged ones), and a prefix that only one
 * fragment makes keeps its route object, so the sessions can tell unchanged routes by identity.
 * Routes come in the announcements' order, unsorted: sessions key them by prefix anyway.
 */
export class IncrementalRoutes {
  private fragments = new WeakMap<Announcement, RouteFragment[]>();
  private routes = new WeakMap<RouteFragment, AdvertisedRoute>();
  private pools: readonly AddressPool[] | undefined;

  compute(
    announcements: readonly Announcement[],
    pools: readonly AddressPool[],
    node: string,
  ): AdvertisedRoute[] {
    if (pools !== this.pools) {
      this.pools = pools;
      this.fragments = new WeakMap();
      this.routes = new WeakMap();
    }
    const fragments = announcements.filter(advertisedFrom(node)).flatMap((announcement) => {
      const known = this.fragments.get(announcement);
      if (known) return known;
      const made = fragmentsFor(announcement, pools);
      this.fragments.set(announcement, made);
      return made;
    });
    return [...groupByPrefix(fragments).values()].map((group) => {
      if (group.length > 1) return mergeFragments(group);
      const only = group[0]!;
      const known = this.routes.get(only);
      if (known) return known;
      const made = mergeFragments(group);
      this.routes.set(only, made);
      return made;
    });
  }
}
