import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../shared/metrics.ts';

describe('metrics registry', () => {
  it('renders the Prometheus text format with escaped labels', () => {
    const registry = new Registry();
    const gauge = registry.gauge('metallb_allocator_addresses_total', 'Usable addresses');
    const counter = registry.counter('metallb_k8s_client_updates_total', 'Updates');
    gauge.set({ pool: 'a"b\\c' }, 3);
    counter.inc();
    counter.inc({}, 2);
    assert.equal(
      registry.render(),
      [
        '# HELP metallb_allocator_addresses_total Usable addresses',
        '# TYPE metallb_allocator_addresses_total gauge',
        'metallb_allocator_addresses_total{pool="a\\"b\\\\c"} 3',
        '# HELP metallb_k8s_client_updates_total Updates',
        '# TYPE metallb_k8s_client_updates_total counter',
        'metallb_k8s_client_updates_total 3',
        '',
      ].join('\n'),
    );
  });

  it('drops series that are no longer wanted', () => {
    const registry = new Registry();
    const gauge = registry.gauge('g', 'help');
    gauge.set({ pool: 'kept' }, 1);
    gauge.set({ pool: 'removed' }, 1);
    gauge.retain((labels) => labels['pool'] === 'kept');
    assert.equal(registry.value('g', { pool: 'kept' }), 1);
    assert.equal(registry.value('g', { pool: 'removed' }), undefined);
  });

  it('refuses a name registered twice', () => {
    const registry = new Registry();
    registry.gauge('g', 'help');
    assert.throws(() => registry.counter('g', 'help'), /registered twice/);
  });
});
