/**
 * What a session can do, worked out from the two OPENs (RFC 5492 §3: a capability is in force only
 * when both sides advertised it). The FSM calls this once, on receiving the peer's OPEN, and passes
 * `options` to every later decode and encode.
 */
import type { Family } from '../../../shared/ip/address.ts';
import { unicastFamily } from './address-family.ts';
import type { Capability, GracefulRestartCapability } from './capabilities.ts';
import { openAsn, type Open } from './open.ts';
import type { SessionOptions } from './session-options.ts';

export interface Negotiated {
  readonly options: SessionOptions;
  /** The smaller of the two hold times (RFC 4271 §4.2); 0 turns keepalives and the hold timer off. */
  readonly holdTime: number;
  /** A third of the hold time, as RFC 4271 §10 suggests; 0 when the hold time is. */
  readonly keepaliveTime: number;
  /** Unicast families both advertised, IPv4 first. */
  readonly families: readonly Family[];
  /** Both advertised ROUTE-REFRESH (RFC 2918 §2), so the peer may ask us to re-send. */
  readonly routeRefresh: boolean;
  /** The peer's graceful restart capability, when both advertised one (RFC 4724 §4). */
  readonly peerGracefulRestart: GracefulRestartCapability | undefined;
  /** The peer's real AS: its 4-octet capability's, else the 2-octet field (RFC 6793 §4.1). */
  readonly peerAsn: number;
}

export function negotiate(local: Open, remote: Open): Negotiated {
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const remoteFamilies = families(remote.capabilities);
  return {
    options: { fourOctetAs: has(local, 'fourOctetAs') && has(remote, 'fourOctetAs') },
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families: families(local.capabilities).filter((family) => remoteFamilies.includes(family)),
    routeRefresh: has(local, 'routeRefresh') && has(remote, 'routeRefresh'),
    peerGracefulRestart: has(local, 'gracefulRestart')
      ? remote.capabilities.find((c): c is GracefulRestartCapability => c.kind === 'gracefulRestart')
      : undefined,
    peerAsn: openAsn(remote),
  };
}

/**
 * The unicast families a side advertised. A speaker that sent no multiprotocol capability at all
 * speaks IPv4 unicast only, as before RFC 4760: FRR, BIRD and GoBGP all assume so.
 */
function families(capabilities: readonly Capability[]): Family[] {
  const advertised = capabilities.filter((c) => c.kind === 'multiprotocol');
  if (advertised.length === 0) return [4];
  const found = new Set<Family>();
  for (const capability of advertised) {
    const family = unicastFamily(capability.afi, capability.safi);
    if (family !== undefined) found.add(family);
  }
  return [...found].sort((a, b) => a - b);
}

function has(open: Open, kind: Capability['kind']): boolean {
  return open.capabilities.some((capability) => capability.kind === kind);
}
