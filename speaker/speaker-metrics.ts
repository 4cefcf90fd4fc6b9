/** The speaker's Prometheus series, under MetalLB's names. */
import type { LastGoodConfig } from '../shared/config/last-good.ts';
import { ConfigMetrics } from '../shared/config-metrics.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Announcement } from './desired-state.ts';

export class SpeakerMetrics {
  private readonly speakerAnnounced;
  private readonly configMetrics: ConfigMetrics;
  private current = new Map<string, { service: string; protocol: string; node: string; ip: string }>();

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

  /** Updates only the series that changed: with thousands of addresses this runs on every change. */
  announced(mine: readonly Announcement[]): void {
    const now = new Map<string, { service: string; protocol: string; node: string; ip: string }>();
    for (const a of mine) {
      for (const service of a.services) {
        now.set(`${service}|${a.ipText}|${a.protocol}`, {
          service,
          protocol: a.protocol,
          node: this.node,
          ip: a.ipText,
        });
      }
    }
    for (const [key, labels] of this.current) if (!now.has(key)) this.speakerAnnounced.delete(labels);
    for (const [key, labels] of now) if (!this.current.has(key)) this.speakerAnnounced.set(labels, 1);
    this.current = now;
  }

  config(config: LastGoodConfig): void {
    this.configMetrics.update(config);
  }
}
