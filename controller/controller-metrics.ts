/** The controller's Prometheus series, under MetalLB's names. */
import { ConfigMetrics } from '../shared/config-metrics.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Allocator } from './allocator.ts';
import type { LastGoodConfig } from '../shared/config/last-good.ts';
import type { Outcome } from './outcome.ts';

export class ControllerMetrics {
  private readonly addressesTotal;
  private readonly addressesInUse;
  private readonly updates;
  private readonly updateErrors;
  private readonly config: ConfigMetrics;

  constructor(registry: Registry) {
    this.addressesTotal = registry.gauge(
      'metallb_allocator_addresses_total',
      'Number of usable IP addresses, per pool',
    );
    this.addressesInUse = registry.gauge(
      'metallb_allocator_addresses_in_use_total',
      'Number of IP addresses in use, per pool',
    );
    this.updates = registry.counter(
      'metallb_k8s_client_updates_total',
      'Number of k8s object updates that have been processed.',
    );
    this.updateErrors = registry.counter(
      'metallb_k8s_client_update_errors_total',
      'Number of k8s object updates that failed for some reason.',
    );
    this.config = new ConfigMetrics(registry);
  }

  reconciled(outcome: Outcome, allocator: Allocator): void {
    this.updates.inc();
    if (outcome.kind === 'retry') this.updateErrors.inc();
    this.pools(allocator);
  }

  configChanged(loader: LastGoodConfig, allocator: Allocator): void {
    this.config.update(loader);
    this.pools(allocator);
  }

  private pools(allocator: Allocator): void {
    const usage = allocator.usage();
    const names = new Set(usage.map((u) => u.pool));
    for (const { pool, total, inUse } of usage) {
      this.addressesTotal.set({ pool }, Number(total));
      this.addressesInUse.set({ pool }, inUse);
    }
    this.addressesTotal.retain((labels) => names.has(labels['pool'] ?? ''));
    this.addressesInUse.retain((labels) => names.has(labels['pool'] ?? ''));
  }
}
