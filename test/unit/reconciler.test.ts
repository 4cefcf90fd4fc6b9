import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { Allocator } from '../../controller/allocator.ts';
import { learnAssignments } from '../../controller/learn.ts';
import { createServiceReconciler } from '../../controller/reconciler.ts';
import type { AddressPool } from '../../shared/config/types.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

const POOL: AddressPool = {
  name: 'p',
  protocol: 'layer2',
  ranges: [parsePoolAddresses('10.0.0.0/31')],
  autoAssign: true,
  avoidBuggyIps: false,
  bgpAdvertisements: [],
};

function svc(
  name: string,
  extra: Partial<V1Service['spec']> = {},
  ingress: string[] = [],
  created = 0,
): V1Service {
  return {
    metadata: { namespace: 'ns', name, uid: name, creationTimestamp: new Date(created) },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...extra },
    status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
  };
}

/** A world of Services in a map; status writes land in it, like the apiserver would apply them. */
function world(services: V1Service[], options: { failWrites?: boolean; lbClass?: string } = {}) {
  const store = new Map(services.map((s) => [`ns/${s.metadata!.name}`, s]));
  const events: string[] = [];
  const writes: string[] = [];
  const allocator = new Allocator([POOL]);
  const reconcile = createServiceReconciler({
    allocator,
    getService: (key) => store.get(key),
    writeStatus: async (service, ips) => {
      if (options.failWrites) throw new Error('apiserver unavailable');
      writes.push(`${service.metadata!.name}=${ips.join(',')}`);
      service.status = { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } };
    },
    events: {
      record: (target, type, reason, message) =>
        events.push(`${target.metadata?.name} ${type} ${reason}: ${message}`),
    },
    loadBalancerClass: options.lbClass,
  });
  return { store, events, writes, allocator, reconcile };
}

describe('service reconciler', () => {
  it('assigns, publishes once, and records IPAllocated', async () => {
    const { reconcile, writes, events } = world([svc('a')]);
    assert.deepEqual(await reconcile('ns/a'), { kind: 'ok' });
    assert.deepEqual(await reconcile('ns/a'), { kind: 'ok' });
    assert.deepEqual(writes, ['a=10.0.0.0']);
    assert.deepEqual(events, ['a Normal IPAllocated: Assigned IP ["10.0.0.0"]']);
  });

  it('leaves an unsatisfiable Service pending with the reason, and says reprocessAll when an address frees', async () => {
    const { reconcile, store, events } = world([svc('a'), svc('b'), svc('c')]);
    await reconcile('ns/a');
    await reconcile('ns/b');
    const pending = await reconcile('ns/c');
    assert.equal(pending.kind, 'noRetry');
    assert.match(
      events.at(-1)!,
      /^c Warning AllocationFailed: Failed to allocate IP for "ns\/c": no available addresses/,
    );
    store.delete('ns/a');
    assert.deepEqual(await reconcile('ns/a'), { kind: 'reprocessAll' });
    await reconcile('ns/c');
    assert.deepEqual(store.get('ns/c')!.status?.loadBalancer?.ingress, [{ ip: '10.0.0.0' }]);
  });

  it('asks for a retry when the status cannot be written, keeping the assignment', async () => {
    const { reconcile, allocator } = world([svc('a')], { failWrites: true });
    const outcome = await reconcile('ns/a');
    assert.equal(outcome.kind, 'retry');
    assert.ok(allocator.assignmentOf('ns/a'));
  });

  it('clears status and frees the address of a Service that is no longer a LoadBalancer', async () => {
    const { reconcile, store, writes, allocator } = world([svc('a')]);
    await reconcile('ns/a');
    store.get('ns/a')!.spec!.type = 'ClusterIP';
    assert.deepEqual(await reconcile('ns/a'), { kind: 'reprocessAll' });
    assert.deepEqual(writes, ['a=10.0.0.0', 'a=']);
    assert.equal(allocator.assignmentOf('ns/a'), undefined);
  });

  it('never touches a Service of another class, even one with a status', async () => {
    const { reconcile, writes } = world([svc('a', { loadBalancerClass: 'other' }, ['192.0.2.1'])]);
    assert.deepEqual(await reconcile('ns/a'), { kind: 'ok' });
    assert.deepEqual(writes, []);
  });

  it('reports a bad annotation as a failure without retrying', async () => {
    const { reconcile, events } = world([svc('a', { loadBalancerIP: 'nonsense' })]);
    assert.equal((await reconcile('ns/a')).kind, 'noRetry');
    assert.match(events[0]!, /AllocationFailed: .*invalid IPv4 address nonsense/);
  });
});

describe('learning assignments at start-up', () => {
  it('keeps published addresses, the older Service winning a duplicate', async () => {
    const older = svc('older', {}, ['10.0.0.1'], 1000);
    const newer = svc('newer', {}, ['10.0.0.1'], 2000);
    const fresh = svc('fresh');
    const { allocator, reconcile, store } = world([newer, older, fresh]);
    const result = learnAssignments([...store.values()], allocator, undefined);
    assert.equal(result.learned, 1);
    assert.deepEqual(result.refused, [{ key: 'ns/newer', reason: '10.0.0.1: already in use by ns/older' }]);
    await reconcile('ns/fresh');
    await reconcile('ns/newer');
    assert.deepEqual(fresh.status?.loadBalancer?.ingress, [{ ip: '10.0.0.0' }]);
    assert.deepEqual(older.status?.loadBalancer?.ingress, [{ ip: '10.0.0.1' }]);
    assert.deepEqual(newer.status?.loadBalancer?.ingress, [], 'the loser is cleared, not left duplicated');
  });
});
