/** The speaker's Prometheus series, under MetalLB's names. */
import type { LastGoodConfig } from '../shared/config/last-good.ts';
import { ConfigMetrics } from '../shared/config-metrics.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Announcement } from './desired-state.ts';

export class SpeakerMetrics {
  private readonly speakerAnnounced;
  private readonly configMetrics: ConfigMetrics;

  constructor(
    registry: Registry,
    private readonly node: string,
  ) {
    this.speakerAnnounced = registry.gauge(
      'metallb_speaker_announced',
      'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
    );
    this.configMetrics = new ConfigMetrics(registry);
  }

  announced(mine: readonly Announcement[]): void {
    const series = mine.flatMap((a) =>
      a.services.map((service) => ({ service, protocol: a.protocol, node: this.node, ip: a.ipText })),
    );
    const keep = new Set(series.map((labels) => JSON.stringify(labels)));
    this.speakerAnnounced.retain((labels) => keep.has(JSON.stringify(labels)));
    for (const labels of series) this.speakerAnnounced.set(labels, 1);
  }

  config(config: LastGoodConfig): void {
    this.configMetrics.update(config);
  }
}
