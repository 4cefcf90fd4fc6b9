/**
 * What the speaker needs from its collaborators, as interfaces: main wires the real membership
 * and announcer, tests can wire fakes.
 */
import type { Peer } from '../shared/config/types.ts';
import type { IpAddress } from '../shared/ip/address.ts';
import type { AdvertisedRoute } from './bgp/routes.ts';

export interface MembershipPort {
  setKnownMembers(members: readonly { readonly name: string; readonly address: string }[]): void;
  aliveMembers(): ReadonlySet<string>;
  onChange(listener: (alive: ReadonlySet<string>) => void): void;
  /** Resolves once every known member was probed once: before that "alive" is not yet known. */
  initialSyncDone(): Promise<void>;
}

/** The layer-2 sink: told the whole set of addresses this node owns, it works out the difference. */
export interface Layer2Port {
  setOwned(ips: readonly IpAddress[]): void;
}

/** The BGP sink: told the peers this node must have and every route it may advertise. */
export interface BgpPort {
  setDesired(peers: readonly Peer[], routes: readonly AdvertisedRoute[]): void;
}
