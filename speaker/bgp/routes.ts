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

export function routesForNode(
  announcements: readonly Announcement[],
  pools: readonly AddressPool[],
  node: string,
): AdvertisedRoute[] {
  const routes = new Map<
    string,
    { route: Omit<AdvertisedRoute, 'communities' | 'largeCommunities'>; communities: Community[] }
  >();
  for (const announcement of announcements) {
    if (announcement.protocol !== 'bgp' || !announcement.advertisers.includes(node)) continue;
    const pool = pools.find((p) => p.name === announcement.pool);
    const advertisements = pool?.bgpAdvertisements.length ? pool.bgpAdvertisements : [DEFAULT_ADVERTISEMENT];
    for (const advertisement of advertisements) {
      const { ip } = announcement;
      const length = ip.family === 4 ? advertisement.aggregationLength : advertisement.aggregationLengthV6;
      const address = maskIp(ip, length);
      const key = `${formatIp(address)}/${length}`;
      const entry = routes.get(key) ?? {
        route: { prefix: { family: ip.family, address, length }, key, localPref: advertisement.localPref },
        communities: [],
      };
      entry.communities.push(...advertisement.communities);
      routes.set(key, entry);
    }
  }
  return [...routes.values()]
    .map(({ route, communities }) => {
      const standard = communities.flatMap((c) => (c.kind === 'standard' ? [c.value] : []));
      const large = new Map(
        communities.flatMap((c) => (c.kind === 'large' ? [[largeKey(c), c] as const] : [])),
      );
      return {
        ...route,
        communities: [...new Set(standard)].sort((a, b) => a - b),
        largeCommunities: [...large.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c),
      };
    })
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}
