/**
 * What the node proxy forwards, as a pure function of what this node serves: for every address it
 * announces (layer 2: it is the elected owner; BGP: it is one of the advertisers), each port of each
 * Service published there goes to that Service's NodePort on this node. Ports without a NodePort
 * (allocateLoadBalancerNodePorts: false) are left out, and so are SCTP ports: nothing in our lab can
 * prove SCTP forwarding end to end, and we ship nothing unproven.
 */
import type { Announcement, ServiceView } from '../desired-state.ts';
import type { ProxyTarget } from './ruleset.ts';

export function proxyTargets(
  served: readonly Announcement[],
  views: ReadonlyMap<string, ServiceView>,
): ProxyTarget[] {
  return served.flatMap((announcement) =>
    announcement.services.flatMap((key) =>
      (views.get(key)?.ports ?? []).flatMap(({ protocol, port, nodePort }) =>
        protocol !== 'SCTP' && nodePort !== undefined
          ? [{ ip: announcement.ip, protocol, port, nodePort }]
          : [],
      ),
    ),
  );
}
