/**
 * What the allocator is asked for. Plain data with no Kubernetes types: the service-request
 * adapter builds it from a Service, tests build it by hand.
 */
import type { Family, IpAddress } from '../shared/ip/address.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortSpec {
  readonly protocol: Protocol;
  readonly port: number;
}

/**
 * Which families to assign. `single`: one address of that family. `require-dual`: one of each.
 * `prefer-dual`: one of each when the pool has both, else one of whichever family it has,
 * preferring `primary` (the Service's first ipFamilies entry).
 */
export type FamilyPolicy =
  | { readonly kind: 'single'; readonly family: Family }
  | { readonly kind: 'prefer-dual'; readonly primary: Family }
  | { readonly kind: 'require-dual'; readonly primary: Family };

export interface AllocationRequest {
  /** Stable identity of the requester, `namespace/name` for a Service. */
  readonly key: string;
  readonly families: FamilyPolicy;
  /** Specific addresses asked for (at most one per family); empty for any address. */
  readonly requestedIps: readonly IpAddress[];
  /** Allocate only from this pool (may be an auto-assign: false pool). */
  readonly pool: string | undefined;
  /** Requesters with the same non-empty key may share an address. */
  readonly sharingKey: string | undefined;
  readonly ports: readonly PortSpec[];
  /**
   * Requesters sharing an address must reach the same backends: '' for traffic policy Cluster,
   * the canonical selector for Local (MetalLB's rule: only then can one node serve both).
   */
  readonly backendKey: string;
}
