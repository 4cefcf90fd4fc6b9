import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXCLUDE_LABEL,
  IncrementalDesiredState,
  desiredAnnouncements,
  type DesiredStateInput,
  type NodeView,
  type ServiceView,
} from '../../speaker/desired-state.ts';
import { announcerOrder } from '../../speaker/layer2/election.ts';
import { ServiceViews } from '../../speaker/views.ts';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { AddressPool } from '../../shared/config/types.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

const pool = (name: string, protocol: 'layer2' | 'bgp', cidr: string): AddressPool => ({
  name,
  protocol,
  ranges: [parsePoolAddresses(cidr)],
  autoAssign: true,
  avoidBuggyIps: false,
  bgpAdvertisements: [],
});

const node = (name: string, extra: Partial<NodeView> = {}): [string, NodeView] => [
  name,
  { name, labels: {}, networkUnavailable: false, ...extra },
];

const service = (key: string, ip: string, extra: Partial<ServiceView> = {}): ServiceView => ({
  key,
  ips: [parseIp(ip)],
  ipTexts: [ip],
  trafficPolicy: 'Cluster',
  readyEndpointNodes: new Set(['n1']),
  hasReadyEndpoints: true,
  ports: [],
  ...extra,
});

function input(services: ServiceView[], extra: Partial<DesiredStateInput> = {}): DesiredStateInput {
  return {
    pools: [pool('l2', 'layer2', '10.0.0.0/24'), pool('b', 'bgp', '10.9.0.0/24')],
    services,
    nodes: new Map([node('n1'), node('n2'), node('n3')]),
    alive: new Set(['n1', 'n2', 'n3']),
    ...extra,
  };
}

const announcerOf = (i: DesiredStateInput, ip: string) =>
  desiredAnnouncements(i).find((a) => a.ipText === ip)?.announcer;

describe('desired state (layer 2)', () => {
  it('elects the announcer of each address among alive nodes', () => {
    const i = input([service('ns/a', '10.0.0.1')]);
    assert.equal(announcerOf(i, '10.0.0.1'), announcerOrder('10.0.0.1', ['n1', 'n2', 'n3'])[0]);
  });

  const cases: [string, Partial<DesiredStateInput>, Partial<ServiceView>, string[]][] = [
    ['a dead node is skipped', { alive: new Set(['n1', 'n3']) }, {}, ['n1', 'n3']],
    [
      'an excluded node is skipped',
      { nodes: new Map([node('n1'), node('n2', { labels: { [EXCLUDE_LABEL]: '' } }), node('n3')]) },
      {},
      ['n1', 'n3'],
    ],
    [
      'a NetworkUnavailable node is skipped',
      { nodes: new Map([node('n1', { networkUnavailable: true }), node('n2'), node('n3')]) },
      {},
      ['n2', 'n3'],
    ],
    [
      'Local policy needs a local ready endpoint',
      {},
      { trafficPolicy: 'Local', readyEndpointNodes: new Set(['n2', 'n3']) },
      ['n2', 'n3'],
    ],
    [
      'a node unknown to the API is skipped',
      { alive: new Set(['n1', 'n2', 'n3', 'ghost']) },
      {},
      ['n1', 'n2', 'n3'],
    ],
  ];
  for (const [name, extra, serviceExtra, eligible] of cases) {
    it(name, () => {
      const i = input([service('ns/a', '10.0.0.7', serviceExtra)], extra);
      assert.equal(announcerOf(i, '10.0.0.7'), announcerOrder('10.0.0.7', eligible)[0]);
    });
  }

  it('announces nothing for a Service without ready endpoints', () => {
    const i = input([
      service('ns/a', '10.0.0.1', { hasReadyEndpoints: false, readyEndpointNodes: new Set() }),
    ]);
    assert.equal(announcerOf(i, '10.0.0.1'), undefined);
  });

  it('puts a shared address on one node, listing both Services', () => {
    const i = input([service('ns/b', '10.0.0.5'), service('ns/a', '10.0.0.5')]);
    const [announcement] = desiredAnnouncements(i);
    assert.deepEqual(announcement?.services, ['ns/a', 'ns/b']);
    assert.equal(desiredAnnouncements(i).length, 1);
  });

  it('leaves BGP pools to BGP and ignores addresses outside every pool', () => {
    const i = input([service('ns/a', '10.9.0.1'), service('ns/b', '172.16.0.1')]);
    const all = desiredAnnouncements(i);
    assert.deepEqual(
      all.map((a) => [a.ipText, a.protocol, a.announcer]),
      [['10.9.0.1', 'bgp', undefined]],
    );
  });

  it('gives every speaker the same answer', () => {
    const services = Array.from({ length: 30 }, (_, n) => service(`ns/s${n}`, `10.0.0.${n + 10}`));
    const a = desiredAnnouncements(input(services));
    const b = desiredAnnouncements(input([...services].reverse(), { alive: new Set(['n3', 'n2', 'n1']) }));
    assert.deepEqual(a, b);
  });

  it('lets every eligible node advertise a BGP address, whatever membership says', () => {
    const i = input(
      [service('ns/a', '10.9.0.1', { trafficPolicy: 'Local', readyEndpointNodes: new Set(['n1', 'n3']) })],
      {
        alive: new Set(['n1']),
        nodes: new Map([node('n1'), node('n2'), node('n3', { labels: { [EXCLUDE_LABEL]: '' } })]),
      },
    );
    assert.deepEqual(desiredAnnouncements(i)[0]?.advertisers, ['n1']);
    const cluster = input([service('ns/b', '10.9.0.2')], { alive: new Set() });
    assert.deepEqual(desiredAnnouncements(cluster)[0]?.advertisers, ['n1', 'n2', 'n3']);
  });
});

describe('incremental desired state', () => {
  const byAddress = (list: readonly { ipText: string }[]) =>
    [...list].sort((a, b) => (a.ipText < b.ipText ? -1 : 1));

  it('answers as desiredAnnouncements does, keeping the objects of untouched addresses', () => {
    const incremental = new IncrementalDesiredState();
    const services = Array.from({ length: 20 }, (_, n) =>
      service(`ns/s${n}`, `10.${n % 2 ? 9 : 0}.0.${n + 1}`),
    );
    const base = input(services);
    const first = incremental.compute(base);
    assert.deepEqual(byAddress(first), desiredAnnouncements(base));

    // One Service loses its endpoints (a new view object), another is added.
    const changed = [...services];
    changed[3] = service('ns/s3', '10.9.0.4', { hasReadyEndpoints: false, readyEndpointNodes: new Set() });
    changed.push(service('ns/new', '10.0.0.99'));
    const next = { ...base, services: changed };
    const second = incremental.compute(next);
    assert.deepEqual(byAddress(second), desiredAnnouncements(next));
    const before = new Map(first.map((a) => [a.ipText, a]));
    const reused = second.filter((a) => before.get(a.ipText) === a).map((a) => a.ipText);
    assert.equal(reused.length, 19, 'all but the changed and the new address reused');
    assert.ok(!reused.includes('10.9.0.4') && !reused.includes('10.0.0.99'));
  });

  it('recomputes everything when the nodes, the alive set or the pools change', () => {
    const incremental = new IncrementalDesiredState();
    const services = [service('ns/a', '10.0.0.1'), service('ns/b', '10.9.0.1')];
    const base = input(services);
    const first = incremental.compute(base);
    for (const change of [
      { alive: new Set(['n2', 'n3']) },
      { nodes: new Map([node('n2'), node('n3')]) },
      { pools: [...base.pools] },
    ]) {
      const next = { ...base, ...change };
      const again = incremental.compute(next);
      assert.deepEqual(byAddress(again), desiredAnnouncements(next));
      assert.ok(
        again.every((a) => !first.includes(a)),
        `new objects after ${Object.keys(change)[0]}`,
      );
      incremental.compute(base);
    }
  });
});

describe('service views', () => {
  it('reuses the view of an unchanged Service and rebuilds it when its endpoints change', () => {
    const views = new ServiceViews();
    const svc: V1Service = {
      metadata: { namespace: 'ns', name: 'a' },
      spec: { type: 'LoadBalancer' },
      status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } },
    };
    const slice = (version: string, ready: boolean): V1EndpointSlice => ({
      metadata: { resourceVersion: version },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.1'], nodeName: 'n1', conditions: { ready } }],
    });
    const first = views.view(svc, [slice('1', true)]);
    assert.equal(views.view(svc, [slice('1', true)]), first);
    const changed = views.view(svc, [slice('2', false)]);
    assert.notEqual(changed, first);
    assert.equal(changed?.hasReadyEndpoints, false);
    assert.deepEqual(first?.ipTexts, ['10.0.0.1']);
  });
});
