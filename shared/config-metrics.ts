/** The config health series both components export, under MetalLB's names. */
import type { LastGoodConfig } from './config/last-good.ts';
import type { Registry } from './metrics.ts';

export class ConfigMetrics {
  private readonly loaded;
  private readonly stale;

  constructor(registry: Registry) {
    this.loaded = registry.gauge(
      'metallb_k8s_client_config_loaded_bool',
      '1 if the MetalLB configuration was successfully loaded at least once.',
    );
    this.stale = registry.gauge(
      'metallb_k8s_client_config_stale_bool',
      '1 if running on a stale configuration, because the latest config failed to load.',
    );
    this.loaded.set({}, 0);
    this.stale.set({}, 0);
  }

  update(config: LastGoodConfig): void {
    this.loaded.set({}, config.current ? 1 : 0);
    this.stale.set({}, config.stale ? 1 : 0);
  }
}
