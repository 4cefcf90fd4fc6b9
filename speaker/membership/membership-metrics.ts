/** Membership health as Prometheus series (our own names: MetalLB exposes none for memberlist). */
import type { Registry } from '../../shared/metrics.ts';
import type { Membership } from './membership.ts';

export function registerMembershipMetrics(registry: Registry, membership: Membership): void {
  const sent = registry.gauge('metallb_memberlist_packets_sent_total', 'Membership packets sent');
  const received = registry.gauge('metallb_memberlist_packets_received_total', 'Membership packets received');
  const dropped = registry.gauge(
    'metallb_memberlist_packets_dropped_total',
    'Membership packets dropped, by reason (bad_mac: wrong or missing key)',
  );
  const members = registry.gauge(
    'metallb_memberlist_members',
    'Known members, by state as seen from this node',
  );
  registry.onCollect(() => {
    const counters = membership.counters();
    sent.set({}, counters.packetsSent);
    received.set({}, counters.packetsReceived);
    for (const [reason, count] of Object.entries(counters.droppedPackets)) dropped.set({ reason }, count);
    for (const [state, count] of Object.entries(counters.membersByState)) members.set({ state }, count);
  });
}
