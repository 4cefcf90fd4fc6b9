/**
 * The parsed, validated form of the MetalLB v0.12 ConfigMap `config`. Everything here is already
 * checked: addresses are ranges, durations are seconds, aliases are resolved. Consumers never see
 * raw YAML.
 */
import type { IpAddress } from '../ip/address.ts';
import type { IpRange } from '../ip/range.ts';

export type Protocol = 'layer2' | 'bgp';

/** RFC 1997 community (two 16-bit halves packed as one uint32) or RFC 8092 large community. */
export type Community =
  | { readonly kind: 'standard'; readonly value: number }
  | {
      readonly kind: 'large';
      readonly globalAdmin: number;
      readonly localData1: number;
      readonly localData2: number;
    };

export interface BgpAdvertisement {
  /** Prefix length announced for IPv4 addresses (default 32). */
  readonly aggregationLength: number;
  /** Prefix length announced for IPv6 addresses (default 128). */
  readonly aggregationLengthV6: number;
  /** LOCAL_PREF for iBGP sessions; undefined means the speaker's default. */
  readonly localPref: number | undefined;
  readonly communities: readonly Community[];
}

export interface AddressPool {
  readonly name: string;
  readonly protocol: Protocol;
  /** In config order; never overlapping, within or across pools. */
  readonly ranges: readonly IpRange[];
  readonly autoAssign: boolean;
  /** Skip IPv4 addresses ending in .0 or .255, which some firmware mistakes for broadcast. */
  readonly avoidBuggyIps: boolean;
  /** Empty for layer2 pools; for bgp pools without any entry, one default advertisement. */
  readonly bgpAdvertisements: readonly BgpAdvertisement[];
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface NodeSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly {
    readonly key: string;
    readonly operator: SelectorOperator;
    readonly values: readonly string[];
  }[];
}

export interface Peer {
  readonly peerAddress: IpAddress;
  readonly peerAsn: number;
  readonly myAsn: number;
  readonly peerPort: number;
  readonly sourceAddress: IpAddress | undefined;
  readonly holdTimeSeconds: number;
  readonly keepaliveTimeSeconds: number;
  readonly routerId: IpAddress | undefined;
  /** A node matches if any selector matches; an empty list matches every node. */
  readonly nodeSelectors: readonly NodeSelector[];
  readonly password: string | undefined;
  readonly ebgpMultihop: boolean;
  readonly bfdProfile: string | undefined;
}

export interface BfdProfile {
  readonly name: string;
  readonly receiveIntervalMs: number;
  readonly transmitIntervalMs: number;
  readonly echoIntervalMs: number;
  readonly detectMultiplier: number;
  readonly minimumTtl: number;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
}

export interface Config {
  readonly pools: readonly AddressPool[];
  readonly peers: readonly Peer[];
  readonly bfdProfiles: readonly BfdProfile[];
  /** The `bgp-communities` alias table, resolved; kept for display. */
  readonly communityAliases: Readonly<Record<string, Community>>;
}
