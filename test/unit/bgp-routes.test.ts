import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalRoutes, routesForNode } from '../../speaker/bgp/routes.ts';
import { peersForNode, selectorMatches } from '../../speaker/bgp/node-selectors.ts';
import type { Announcement } from '../../speaker/desired-state.ts';
import type { AddressPool, NodeSelector, Peer } from '../../shared/config/types.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

const pool = (name: string, advertisements: AddressPool['bgpAdvertisements']): AddressPool => ({
  name,
  protocol: 'bgp',
  ranges: [parsePoolAddresses('10.9.0.0/24'), parsePoolAddresses('fd00:9::/120')],
  autoAssign: true,
  avoidBuggyIps: false,
  bgpAdvertisements: advertisements,
});

const announcement = (ip: string, advertisers: string[], poolName = 'b'): Announcement => ({
  ip: parseIp(ip),
  ipText: ip,
  pool: poolName,
  protocol: 'bgp',
  services: ['ns/s'],
  announcer: undefined,
  advertisers,
});

describe('BGP routes for a node', () => {
  it('advertises host routes by default, only where this node may serve', () => {
    const routes = routesForNode(
      [
        announcement('10.9.0.1', ['n1', 'n2']),
        announcement('10.9.0.2', ['n2']),
        announcement('fd00:9::1', ['n1']),
      ],
      [pool('b', [])],
      'n1',
    );
    assert.deepEqual(
      routes.map((r) => [r.key, r.localPref, r.communities]),
      [
        ['10.9.0.1/32', undefined, []],
        ['fd00:9::1/128', undefined, []],
      ],
    );
  });

  it('aggregates, and merges the communities of advertisements that yield one prefix', () => {
    const b = pool('b', [
      {
        aggregationLength: 24,
        aggregationLengthV6: 128,
        localPref: 50,
        communities: [{ kind: 'standard', value: 0xfde8_0001 }],
      },
      {
        aggregationLength: 24,
        aggregationLengthV6: 128,
        localPref: 50,
        communities: [
          { kind: 'standard', value: 0xfde8_0001 },
          { kind: 'large', globalAdmin: 64500, localData1: 1, localData2: 2 },
        ],
      },
      { aggregationLength: 32, aggregationLengthV6: 128, localPref: undefined, communities: [] },
    ]);
    const routes = routesForNode(
      [announcement('10.9.0.1', ['n1']), announcement('10.9.0.7', ['n1'])],
      [b],
      'n1',
    );
    assert.deepEqual(
      routes.map((r) => [r.key, r.localPref, r.communities, r.largeCommunities.length]),
      [
        ['10.9.0.0/24', 50, [0xfde8_0001], 1],
        ['10.9.0.1/32', undefined, [], 0],
        ['10.9.0.7/32', undefined, [], 0],
      ],
    );
  });
});

describe('incremental BGP routes', () => {
  const byKey = <T extends { key: string }>(list: readonly T[]) =>
    [...list].sort((a, b) => (a.key < b.key ? -1 : 1));
  const aggregating = pool('b', [
    {
      aggregationLength: 24,
      aggregationLengthV6: 128,
      localPref: 50,
      communities: [{ kind: 'standard', value: 0xfde8_0001 }],
    },
    { aggregationLength: 32, aggregationLengthV6: 128, localPref: undefined, communities: [] },
  ]);

  it('answers as routesForNode does and keeps the route objects of unchanged announcements', () => {
    const incremental = new IncrementalRoutes();
    const announcements = [
      announcement('10.9.0.1', ['n1']),
      announcement('10.9.0.2', ['n1', 'n2']),
      announcement('10.9.0.3', ['n2']),
    ];
    const pools = [aggregating];
    const first = incremental.compute(announcements, pools, 'n1');
    assert.deepEqual(byKey(first), routesForNode(announcements, pools, 'n1'));

    const next = [...announcements.slice(0, 2), announcement('10.9.0.3', ['n1'])];
    const second = incremental.compute(next, pools, 'n1');
    assert.deepEqual(byKey(second), routesForNode(next, pools, 'n1'));
    const reused = second.filter((route) => first.includes(route)).map((route) => route.key);
    // The /24 merges several fragments and is rebuilt; host routes of unchanged announcements are kept.
    assert.deepEqual(reused.sort(), ['10.9.0.1/32', '10.9.0.2/32']);

    const newPools = [pool('b', [])];
    const third = incremental.compute(next, newPools, 'n1');
    assert.deepEqual(byKey(third), routesForNode(next, newPools, 'n1'));
    assert.ok(
      third.every((route) => !second.includes(route)),
      'new pools, new routes',
    );
  });
});

describe('peer node-selectors', () => {
  const selector = (s: Partial<NodeSelector>): NodeSelector => ({
    matchLabels: {},
    matchExpressions: [],
    ...s,
  });
  const cases: [string, NodeSelector, Record<string, string>, boolean][] = [
    ['labels equal', selector({ matchLabels: { rack: 'a' } }), { rack: 'a' }, true],
    ['labels differ', selector({ matchLabels: { rack: 'a' } }), { rack: 'b' }, false],
    [
      'In',
      selector({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }] }),
      { zone: 'z2' },
      true,
    ],
    [
      'In, missing',
      selector({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }),
      {},
      false,
    ],
    [
      'NotIn, missing',
      selector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] }),
      {},
      true,
    ],
    [
      'NotIn, listed',
      selector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] }),
      { zone: 'z1' },
      false,
    ],
    [
      'Exists',
      selector({ matchExpressions: [{ key: 'bgp', operator: 'Exists', values: [] }] }),
      { bgp: '' },
      true,
    ],
    [
      'DoesNotExist',
      selector({ matchExpressions: [{ key: 'bgp', operator: 'DoesNotExist', values: [] }] }),
      { bgp: '' },
      false,
    ],
  ];
  for (const [name, s, labels, expected] of cases) {
    it(name, () => assert.equal(selectorMatches(s, labels), expected));
  }

  it('applies a peer when any selector matches, and always without selectors', () => {
    const peer = (address: string, nodeSelectors: NodeSelector[]): Peer => ({
      peerAddress: parseIp(address),
      peerAsn: 64501,
      myAsn: 64500,
      peerPort: 179,
      sourceAddress: undefined,
      holdTimeSeconds: 90,
      keepaliveTimeSeconds: 30,
      routerId: undefined,
      nodeSelectors,
      password: undefined,
      ebgpMultihop: false,
      bfdProfile: undefined,
    });
    const peers = [
      peer('10.0.0.1', []),
      peer('10.0.0.2', [selector({ matchLabels: { rack: 'a' } }), selector({ matchLabels: { rack: 'b' } })]),
      peer('10.0.0.3', [selector({ matchLabels: { rack: 'c' } })]),
    ];
    assert.deepEqual(
      peersForNode(peers, { rack: 'b' }).map((p) => p.peerAddress.value),
      [parseIp('10.0.0.1').value, parseIp('10.0.0.2').value],
    );
  });
});
