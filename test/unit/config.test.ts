import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { widestBlockLength } from '../../shared/config/advertisements.ts';
import { formatCommunity, parseCommunity } from '../../shared/config/communities.ts';
import { parseDurationMs } from '../../shared/config/duration.ts';
import { parseConfig, parseConfigSource } from '../../shared/config/parse.ts';
import type { Config } from '../../shared/config/types.ts';
import { ConfigErrors, MetallbError } from '../../shared/errors.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

/** The problems parseConfig reports, as plain records so assert.deepEqual shows every difference. */
function problems(yaml: string, parse: (text: string) => Config = parseConfig) {
  try {
    parse(yaml);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    assert.ok(error.errors.every((e) => e instanceof MetallbError));
    return error.errors.map(({ code, path, message }) => ({ code, path, message }));
  }
  return assert.fail('expected the config to be refused');
}

const EMPTY: Config = { pools: [], peers: [], bfdProfiles: [], communityAliases: {} };

// Compact one-line documents for the rule table: a bgp pool and an eBGP peer, plus extra keys.
const pool = (extra: string) =>
  `address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], ${extra}}]`;
const peer = (extra: string) => `peers: [{peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, ${extra}}]`;

describe('parseConfig accepts', () => {
  it('the seed config from the user documentation', () => {
    const config = parseConfig(
      [
        'address-pools:',
        '- name: default',
        '  protocol: layer2',
        '  addresses:',
        '  - 192.168.1.251-192.168.1.253',
      ].join('\n'),
    );
    assert.deepEqual(config, {
      ...EMPTY,
      pools: [
        {
          name: 'default',
          protocol: 'layer2',
          ranges: [parsePoolAddresses('192.168.1.251-192.168.1.253')],
          autoAssign: true,
          avoidBuggyIps: false,
          bgpAdvertisements: [],
        },
      ],
    });
  });

  for (const text of ['', '\n', '# nothing configured yet\n', '{}', '---\n', 'peers: []\naddress-pools:\n']) {
    it(`${JSON.stringify(text)} as an empty config`, () => {
      assert.deepEqual(parseConfig(text), EMPTY);
    });
  }

  it('a config with every field, defaults filled in', () => {
    const config = parseConfig(`
bgp-communities:
  no-advertise: 65535:65282
  big: large:64512:1:2
bfd-profiles:
- name: fast
  receive-interval: 100
  transmit-interval: 200
  echo-interval: 60
  detect-multiplier: 5
  minimum-ttl: 10
  echo-mode: true
  passive-mode: true
- name: defaults
peers:
- peer-address: 10.0.0.1
  peer-asn: 64501
  my-asn: 64500
  peer-port: 1179
  source-address: 10.0.0.5
  hold-time: 2m
  keepalive-time: 40s
  router-id: 10.0.0.100
  node-selectors:
  - match-labels:
      rack: "1"
    match-expressions:
    - key: kubernetes.io/hostname
      operator: In
      values: [node-a, node-b]
    - key: example.com/spare
      operator: DoesNotExist
  password: secret
  ebgp-multihop: true
  bfd-profile: fast
- peer-address: 2001:db8::1
  peer-asn: 64500
  my-asn: 64500
  hold-time: 9s
address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.1.251-192.168.1.253
  - 2001:db8:1::/64
- name: bgp
  protocol: bgp
  auto-assign: false
  avoid-buggy-ips: true
  addresses:
  - 198.51.100.0/24
  - 2001:db8:2::/120
  bgp-advertisements:
  - aggregation-length: 32
    localpref: 100
    communities: [no-advertise, big, "64500:1", "65535:65282"]
  - aggregation-length: 24
    aggregation-length-v6: 120
- name: bgp-default
  protocol: bgp
  addresses: [203.0.113.0/28]
`);
    const noAdvertise = { kind: 'standard', value: 65535 * 65536 + 65282 } as const;
    const big = { kind: 'large', globalAdmin: 64512, localData1: 1, localData2: 2 } as const;
    assert.deepEqual(config, {
      communityAliases: { 'no-advertise': noAdvertise, big },
      bfdProfiles: [
        {
          name: 'fast',
          receiveIntervalMs: 100,
          transmitIntervalMs: 200,
          echoIntervalMs: 60,
          detectMultiplier: 5,
          minimumTtl: 10,
          echoMode: true,
          passiveMode: true,
        },
        {
          name: 'defaults',
          receiveIntervalMs: 300,
          transmitIntervalMs: 300,
          echoIntervalMs: 50,
          detectMultiplier: 3,
          minimumTtl: 254,
          echoMode: false,
          passiveMode: false,
        },
      ],
      peers: [
        {
          peerAddress: parseIp('10.0.0.1'),
          peerAsn: 64501,
          myAsn: 64500,
          peerPort: 1179,
          sourceAddress: parseIp('10.0.0.5'),
          holdTimeSeconds: 120,
          keepaliveTimeSeconds: 40,
          routerId: parseIp('10.0.0.100'),
          nodeSelectors: [
            {
              matchLabels: { rack: '1' },
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a', 'node-b'] },
                { key: 'example.com/spare', operator: 'DoesNotExist', values: [] },
              ],
            },
          ],
          password: 'secret',
          ebgpMultihop: true,
          bfdProfile: 'fast',
        },
        {
          peerAddress: parseIp('2001:db8::1'),
          peerAsn: 64500,
          myAsn: 64500,
          peerPort: 179,
          sourceAddress: undefined,
          holdTimeSeconds: 9,
          keepaliveTimeSeconds: 3,
          routerId: undefined,
          nodeSelectors: [],
          password: undefined,
          ebgpMultihop: false,
          bfdProfile: undefined,
        },
      ],
      pools: [
        {
          name: 'default',
          protocol: 'layer2',
          ranges: ['192.168.1.251-192.168.1.253', '2001:db8:1::/64'].map(parsePoolAddresses),
          autoAssign: true,
          avoidBuggyIps: false,
          bgpAdvertisements: [],
        },
        {
          name: 'bgp',
          protocol: 'bgp',
          ranges: ['198.51.100.0/24', '2001:db8:2::/120'].map(parsePoolAddresses),
          autoAssign: false,
          avoidBuggyIps: true,
          bgpAdvertisements: [
            {
              aggregationLength: 32,
              aggregationLengthV6: 128,
              localPref: 100,
              // The literal 65535:65282 is the no-advertise alias again: listed once.
              communities: [noAdvertise, big, { kind: 'standard', value: 64500 * 65536 + 1 }],
            },
            { aggregationLength: 24, aggregationLengthV6: 120, localPref: undefined, communities: [] },
          ],
        },
        {
          name: 'bgp-default',
          protocol: 'bgp',
          ranges: [parsePoolAddresses('203.0.113.0/28')],
          autoAssign: true,
          avoidBuggyIps: false,
          bgpAdvertisements: [
            { aggregationLength: 32, aggregationLengthV6: 128, localPref: undefined, communities: [] },
          ],
        },
      ],
    });
  });

  it('YAML 1.1 booleans and scalars as strings, as go-yaml v2 reads them', () => {
    const config = parseConfig(
      'address-pools: [{name: 2024, protocol: layer2, addresses: [10.0.0.0/24], auto-assign: no, avoid-buggy-ips: on}]',
    );
    assert.equal(config.pools[0]?.name, '2024');
    assert.equal(config.pools[0]?.autoAssign, false);
    assert.equal(config.pools[0]?.avoidBuggyIps, true);
  });

  it('a community that YAML 1.1 would read as a base-60 number', () => {
    const config = parseConfig(pool('bgp-advertisements: [{communities: [100:10]}]'));
    assert.deepEqual(config.pools[0]?.bgpAdvertisements[0]?.communities, [
      { kind: 'standard', value: 100 * 65536 + 10 },
    ]);
  });

  it('anchors, aliases and merge keys, keys written in place winning', () => {
    const config = parseConfig(`
peers:
- &first {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, hold-time: 30s}
- <<: *first
  peer-address: 10.0.0.2
  hold-time: 60s
`);
    assert.deepEqual(
      config.peers.map((p) => [p.peerAddress, p.peerAsn, p.holdTimeSeconds]),
      [
        [parseIp('10.0.0.1'), 64501, 30],
        [parseIp('10.0.0.2'), 64501, 60],
      ],
    );
  });

  it('aggregation down to the widest block of a range, as MetalLB v0.12 does', () => {
    const config = parseConfig(
      'address-pools: [{name: a, protocol: bgp, addresses: [3.3.3.2-3.3.3.254], bgp-advertisements: [{aggregation-length: 26}]}]',
    );
    assert.equal(config.pools[0]?.bgpAdvertisements[0]?.aggregationLength, 26);
  });

  it('advertisements with different lengths and localprefs, and an IPv6 length for an IPv4-only pool', () => {
    const config = parseConfig(
      pool(
        'bgp-advertisements: [{localpref: 100}, {aggregation-length: 24, localpref: 200}, {localpref: 100, aggregation-length-v6: 64}]',
      ),
    );
    assert.equal(config.pools[0]?.bgpAdvertisements.length, 3);
  });

  it('an empty bgp-advertisements list on a layer2 pool, which asks for nothing', () => {
    const config = parseConfig(
      'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24], bgp-advertisements: []}]',
    );
    assert.deepEqual(config.pools[0]?.bgpAdvertisements, []);
  });

  it('one router peered from disjoint node groups', () => {
    const config = parseConfig(`
peers:
- {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, node-selectors: [{match-labels: {rack: a}}]}
- {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, node-selectors: [{match-labels: {rack: b}}]}
- {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, peer-port: 1179}
`);
    assert.equal(config.peers.length, 3);
  });

  it('hold-time 0 with no keepalive, and hold times truncated to whole seconds like MetalLB', () => {
    const config = parseConfig(
      `peers: [{peer-address: 10.0.0.1, peer-asn: 1, my-asn: 2, hold-time: "0"}, {peer-address: 10.0.0.2, peer-asn: 1, my-asn: 2, hold-time: 3500ms}]`,
    );
    assert.deepEqual(
      config.peers.map((p) => [p.holdTimeSeconds, p.keepaliveTimeSeconds]),
      [
        [0, 0],
        [3, 1],
      ],
    );
  });
});

interface Rule {
  readonly rule: string;
  readonly yaml: string;
  readonly code: string;
  readonly path: string;
  /** The message after `path: `. */
  readonly message: string;
}

// One row per validation rule; each document has exactly that one problem.
const RULES: Rule[] = [
  // YAML itself
  {
    rule: 'bad YAML, with line and column',
    yaml: 'address-pools:\n- name: a\n  protocol: [layer2\n',
    code: 'CONFIG_YAML',
    path: '',
    message:
      'line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  },
  {
    rule: 'a key given twice',
    yaml: 'peers: []\npeers: []',
    code: 'CONFIG_YAML',
    path: '',
    message: 'line 2, column 1: Map keys must be unique',
  },
  {
    rule: 'a document that is not a mapping',
    yaml: '- 10.0.0.0/24',
    code: 'CONFIG_TYPE',
    path: '',
    message: 'expected a mapping, got a list',
  },
  // Unknown keys, at every level
  {
    rule: 'unknown top-level key',
    yaml: 'address-pool: []',
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'address-pool',
    message: 'unknown key "address-pool" (did you mean "address-pools"?)',
  },
  {
    rule: 'unknown top-level key, nothing like a known one',
    yaml: 'pools: []',
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'pools',
    message: 'unknown key "pools" (allowed: peers, bgp-communities, address-pools, bfd-profiles)',
  },
  {
    rule: 'unknown pool key, CRD spelling',
    yaml: pool('autoAssign: false'),
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'address-pools[0].autoAssign',
    message: 'unknown key "autoAssign" (did you mean "auto-assign"?)',
  },
  {
    rule: 'unknown advertisement key',
    yaml: pool('bgp-advertisements: [{aggregation_length: 24}]'),
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'address-pools[0].bgp-advertisements[0].aggregation_length',
    message: 'unknown key "aggregation_length" (did you mean "aggregation-length"?)',
  },
  {
    rule: 'unknown peer key',
    yaml: peer('timeout: 5s'),
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'peers[0].timeout',
    message:
      'unknown key "timeout" (allowed: peer-address, peer-asn, my-asn, peer-port, source-address, hold-time, ' +
      'keepalive-time, router-id, node-selectors, password, ebgp-multihop, bfd-profile)',
  },
  {
    rule: 'unknown node selector key',
    yaml: peer('node-selectors: [{matchLabels: {a: b}}]'),
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'peers[0].node-selectors[0].matchLabels',
    message: 'unknown key "matchLabels" (did you mean "match-labels"?)',
  },
  {
    rule: 'unknown match expression key',
    yaml: peer('node-selectors: [{match-expressions: [{key: a, operator: Exists, value: []}]}]'),
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'peers[0].node-selectors[0].match-expressions[0].value',
    message: 'unknown key "value" (did you mean "values"?)',
  },
  {
    rule: 'unknown bfd profile key',
    yaml: 'bfd-profiles: [{name: x, echo: true}]',
    code: 'CONFIG_UNKNOWN_KEY',
    path: 'bfd-profiles[0].echo',
    message:
      'unknown key "echo" (allowed: name, receive-interval, transmit-interval, echo-interval, ' +
      'detect-multiplier, minimum-ttl, echo-mode, passive-mode)',
  },
  // Wrong types
  {
    rule: 'a list given as a string',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: 10.0.0.0/24}]',
    code: 'CONFIG_TYPE',
    path: 'address-pools[0].addresses',
    message: 'expected a list, got the string "10.0.0.0/24"',
  },
  {
    rule: 'a list given as a mapping',
    yaml: 'address-pools: {}',
    code: 'CONFIG_TYPE',
    path: 'address-pools',
    message: 'expected a list, got a mapping',
  },
  {
    rule: 'a pool that is not a mapping',
    yaml: 'address-pools: [default]',
    code: 'CONFIG_TYPE',
    path: 'address-pools[0]',
    message: 'expected a mapping, got the string "default"',
  },
  {
    rule: 'a quoted boolean',
    yaml: pool('avoid-buggy-ips: "true"'),
    code: 'CONFIG_TYPE',
    path: 'address-pools[0].avoid-buggy-ips',
    message: 'expected true or false, got the string "true"',
  },
  {
    rule: 'a word for a number',
    yaml: 'peers: [{peer-address: 10.0.0.1, peer-asn: abc, my-asn: 64500}]',
    code: 'CONFIG_TYPE',
    path: 'peers[0].peer-asn',
    message: 'expected an integer, got the string "abc"',
  },
  {
    rule: 'a fraction for an integer',
    yaml: 'bfd-profiles: [{name: x, detect-multiplier: 2.5}]',
    code: 'CONFIG_TYPE',
    path: 'bfd-profiles[0].detect-multiplier',
    message: 'expected an integer, got the value 2.5',
  },
  {
    rule: 'a mapping for a string',
    yaml: 'address-pools: [{name: {a: b}, protocol: layer2, addresses: [10.0.0.0/24]}]',
    code: 'CONFIG_TYPE',
    path: 'address-pools[0].name',
    message: 'expected a string, got a mapping',
  },
  {
    rule: 'bgp-communities as a list',
    yaml: 'bgp-communities: ["65535:65282"]',
    code: 'CONFIG_TYPE',
    path: 'bgp-communities',
    message: 'expected a mapping, got a list',
  },
  // Pools
  {
    rule: 'missing pool name',
    yaml: 'address-pools: [{protocol: layer2, addresses: [10.0.0.0/24]}]',
    code: 'CONFIG_REQUIRED',
    path: 'address-pools[0].name',
    message: 'missing name',
  },
  {
    rule: 'empty pool name',
    yaml: 'address-pools: [{name: "", protocol: layer2, addresses: [10.0.0.0/24]}]',
    code: 'CONFIG_REQUIRED',
    path: 'address-pools[0].name',
    message: 'missing name',
  },
  {
    rule: 'duplicate pool name',
    yaml: `address-pools:
- {name: a, protocol: layer2, addresses: [10.0.0.0/24]}
- {name: a, protocol: bgp, addresses: [10.0.1.0/24]}`,
    code: 'CONFIG_DUPLICATE',
    path: 'address-pools[1].name',
    message: 'duplicate pool name "a", already used by address-pools[0]',
  },
  {
    rule: 'no addresses key',
    yaml: 'address-pools: [{name: a, protocol: layer2}]',
    code: 'CONFIG_REQUIRED',
    path: 'address-pools[0].addresses',
    message: 'missing addresses',
  },
  {
    rule: 'an empty addresses list',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: []}]',
    code: 'CONFIG_REQUIRED',
    path: 'address-pools[0].addresses',
    message: 'pool has no addresses',
  },
  {
    rule: 'invalid address in a range (the documented message)',
    yaml: `address-pools:
- {name: a, protocol: layer2, addresses: [10.0.0.0/24]}
- {name: b, protocol: layer2, addresses: [192.168.1.300-192.168.1.310]}`,
    code: 'IP_INVALID',
    path: 'address-pools[1].addresses[0]',
    message: '"192.168.1.300-192.168.1.310": invalid IPv4 address 192.168.1.300',
  },
  {
    rule: 'invalid CIDR prefix length',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/33]}]',
    code: 'IP_RANGE_INVALID',
    path: 'address-pools[0].addresses[0]',
    message: '"10.0.0.0/33": invalid prefix length /33 for IPv4',
  },
  {
    rule: 'range start after end',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.9-10.0.0.1]}]',
    code: 'IP_RANGE_INVALID',
    path: 'address-pools[0].addresses[0]',
    message: '"10.0.0.9-10.0.0.1": range start 10.0.0.9 is after end 10.0.0.1',
  },
  {
    rule: 'a bare address',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.1]}]',
    code: 'IP_RANGE_INVALID',
    path: 'address-pools[0].addresses[0]',
    message: '"10.0.0.1": not a CIDR or a range (write a single IPv4 address as a /32)',
  },
  {
    rule: 'missing protocol',
    yaml: 'address-pools: [{name: a, addresses: [10.0.0.0/24]}]',
    code: 'CONFIG_REQUIRED',
    path: 'address-pools[0].protocol',
    message: 'missing protocol',
  },
  {
    rule: 'unknown protocol',
    yaml: 'address-pools: [{name: a, protocol: arp, addresses: [10.0.0.0/24]}]',
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].protocol',
    message: 'unknown protocol "arp" (expected layer2 or bgp)',
  },
  {
    rule: 'bgp-advertisements on a layer2 pool',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24], bgp-advertisements: [{}]}]',
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements',
    message: 'bgp-advertisements are only allowed in bgp pools',
  },
  {
    rule: 'overlap within a pool',
    yaml: 'address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24, 10.0.0.128/25]}]',
    code: 'CONFIG_OVERLAP',
    path: 'address-pools[0].addresses[1]',
    message: '"10.0.0.128/25" overlaps address-pools[0].addresses[0] "10.0.0.0/24"',
  },
  {
    rule: 'overlap across pools, a range against a CIDR',
    yaml: `address-pools:
- {name: a, protocol: layer2, addresses: [192.168.1.240/28]}
- {name: b, protocol: bgp, addresses: [10.0.0.0/24, 192.168.1.251-192.168.1.253]}`,
    code: 'CONFIG_OVERLAP',
    path: 'address-pools[1].addresses[1]',
    message: '"192.168.1.251-192.168.1.253" overlaps address-pools[0].addresses[0] "192.168.1.240/28"',
  },
  {
    rule: 'overlap across pools, IPv6',
    yaml: `address-pools:
- {name: a, protocol: layer2, addresses: ["2001:db8::/64"]}
- {name: b, protocol: bgp, addresses: ["2001:db8::5-2001:db8::9"]}`,
    code: 'CONFIG_OVERLAP',
    path: 'address-pools[1].addresses[0]',
    message: '"2001:db8::5-2001:db8::9" overlaps address-pools[0].addresses[0] "2001:db8::/64"',
  },
  // Advertisements
  {
    rule: 'duplicate advertisements, after defaults',
    yaml: pool('bgp-advertisements: [{}, {aggregation-length: 32, aggregation-length-v6: 128}]'),
    code: 'CONFIG_DUPLICATE',
    path: 'address-pools[0].bgp-advertisements[1]',
    message: 'same advertisement as address-pools[0].bgp-advertisements[0]',
  },
  {
    rule: 'duplicate advertisements, an alias and its literal',
    yaml: `bgp-communities: {no-export: "65535:65281"}
${pool('bgp-advertisements: [{communities: [no-export]}, {communities: ["65535:65281"]}]')}`,
    code: 'CONFIG_DUPLICATE',
    path: 'address-pools[0].bgp-advertisements[1]',
    message: 'same advertisement as address-pools[0].bgp-advertisements[0]',
  },
  {
    rule: 'aggregation-length over 32',
    yaml: pool('bgp-advertisements: [{aggregation-length: 33}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length',
    message: 'must be between 0 and 32, got 33',
  },
  {
    rule: 'negative aggregation-length',
    yaml: pool('bgp-advertisements: [{aggregation-length: -1}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length',
    message: 'must be between 0 and 32, got -1',
  },
  {
    rule: 'aggregation-length-v6 over 128',
    yaml: pool('bgp-advertisements: [{aggregation-length-v6: 129}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length-v6',
    message: 'must be between 0 and 128, got 129',
  },
  {
    rule: 'aggregation-length shorter than a CIDR of the pool',
    yaml: pool('bgp-advertisements: [{aggregation-length: 23}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length',
    message: '23 is shorter than /24, the widest CIDR block in address-pools[0].addresses[0] "10.0.0.0/24"',
  },
  {
    rule: 'aggregation-length shorter than the widest block of a range',
    yaml: 'address-pools: [{name: a, protocol: bgp, addresses: [3.3.3.2-3.3.3.254], bgp-advertisements: [{aggregation-length: 25}]}]',
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length',
    message:
      '25 is shorter than /26, the widest CIDR block in address-pools[0].addresses[0] "3.3.3.2-3.3.3.254"',
  },
  {
    rule: 'aggregation-length-v6 shorter than an IPv6 CIDR of the pool',
    yaml: 'address-pools: [{name: a, protocol: bgp, addresses: ["2001:db8::/64"], bgp-advertisements: [{aggregation-length-v6: 48}]}]',
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].aggregation-length-v6',
    message: '48 is shorter than /64, the widest CIDR block in address-pools[0].addresses[0] "2001:db8::/64"',
  },
  {
    rule: 'localpref out of range',
    yaml: pool('bgp-advertisements: [{localpref: 4294967296}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].localpref',
    message: 'must be between 0 and 4294967295, got 4294967296',
  },
  {
    rule: 'two localprefs for the same prefixes',
    yaml: pool('bgp-advertisements: [{localpref: 100}, {communities: ["1:1"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[1]',
    message:
      'no localpref conflicts with localpref 100 of address-pools[0].bgp-advertisements[0]: ' +
      'both announce the same IPv4 /32 prefixes',
  },
  // Communities
  {
    rule: 'community half over 16 bits',
    yaml: pool('bgp-advertisements: [{communities: ["1:99999"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message: '"1:99999": second half "99999" is not a number from 0 to 65535',
  },
  {
    rule: 'community with a sign',
    yaml: pool('bgp-advertisements: [{communities: ["-1:2"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message: '"-1:2": first half "-1" is not a number from 0 to 65535',
  },
  {
    rule: 'community with three parts',
    yaml: pool('bgp-advertisements: [{communities: ["1:2:3"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message: '"1:2:3": a community is written <asn>:<value> or large:<global>:<local1>:<local2>',
  },
  {
    rule: 'large community part over 32 bits',
    yaml: pool('bgp-advertisements: [{communities: ["large:1:2:4294967296"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message:
      '"large:1:2:4294967296": second local data part "4294967296" is not a number from 0 to 4294967295',
  },
  {
    rule: 'large community with too few parts',
    yaml: pool('bgp-advertisements: [{communities: ["large:1:2"]}]'),
    code: 'CONFIG_INVALID',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message: '"large:1:2": a large community is written large:<global>:<local1>:<local2>',
  },
  {
    rule: 'unknown community alias',
    yaml: pool('bgp-advertisements: [{communities: [no-advertise]}]'),
    code: 'CONFIG_REFERENCE',
    path: 'address-pools[0].bgp-advertisements[0].communities[0]',
    message: '"no-advertise": not a community and not an alias defined in bgp-communities',
  },
  {
    rule: 'bad alias value, reported once at the alias and not again where it is used',
    yaml: `bgp-communities: {bad: "70000:1"}\n${pool('bgp-advertisements: [{communities: [bad]}]')}`,
    code: 'CONFIG_INVALID',
    path: 'bgp-communities.bad',
    message: '"70000:1": first half "70000" is not a number from 0 to 65535',
  },
  // Peers
  {
    rule: 'missing peer-asn',
    yaml: 'peers: [{peer-address: 10.0.0.1, my-asn: 64500}]',
    code: 'CONFIG_REQUIRED',
    path: 'peers[0].peer-asn',
    message: 'missing peer-asn',
  },
  {
    rule: 'missing my-asn',
    yaml: 'peers: [{peer-address: 10.0.0.1, peer-asn: 64500}]',
    code: 'CONFIG_REQUIRED',
    path: 'peers[0].my-asn',
    message: 'missing my-asn',
  },
  {
    rule: 'zero ASN',
    yaml: 'peers: [{peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 0}]',
    code: 'CONFIG_INVALID',
    path: 'peers[0].my-asn',
    message: 'must be between 1 and 4294967295, got 0',
  },
  {
    rule: 'ASN over 32 bits',
    yaml: 'peers: [{peer-address: 10.0.0.1, peer-asn: 4294967296, my-asn: 1}]',
    code: 'CONFIG_INVALID',
    path: 'peers[0].peer-asn',
    message: 'must be between 1 and 4294967295, got 4294967296',
  },
  {
    rule: 'missing peer-address',
    yaml: 'peers: [{peer-asn: 64501, my-asn: 64500}]',
    code: 'CONFIG_REQUIRED',
    path: 'peers[0].peer-address',
    message: 'missing peer-address',
  },
  {
    rule: 'invalid peer-address',
    yaml: 'peers: [{peer-address: 10.0.0.256, peer-asn: 64501, my-asn: 64500}]',
    code: 'IP_INVALID',
    path: 'peers[0].peer-address',
    message: '"10.0.0.256": invalid IPv4 address 10.0.0.256',
  },
  {
    rule: 'invalid router-id',
    yaml: peer('router-id: 1.2.3'),
    code: 'IP_INVALID',
    path: 'peers[0].router-id',
    message: '"1.2.3": invalid IPv4 address 1.2.3',
  },
  {
    rule: 'IPv6 router-id',
    yaml: peer('router-id: "::1"'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].router-id',
    message: 'router-id must be an IPv4 address',
  },
  {
    rule: 'invalid source-address',
    yaml: peer('source-address: 10.0.0.x'),
    code: 'IP_INVALID',
    path: 'peers[0].source-address',
    message: '"10.0.0.x": invalid IPv4 address 10.0.0.x',
  },
  {
    rule: 'source-address of the other family',
    yaml: peer('source-address: "2001:db8::1"'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].source-address',
    message: 'source-address is IPv6, peer-address IPv4',
  },
  {
    rule: 'peer-port 0',
    yaml: peer('peer-port: 0'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].peer-port',
    message: 'must be between 1 and 65535, got 0',
  },
  {
    rule: 'hold-time under 3s',
    yaml: peer('hold-time: 2s'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].hold-time',
    message: '"2s": hold time must be 0 or at least 3s',
  },
  {
    rule: 'sub-second hold-time, which MetalLB would silently turn into 0',
    yaml: peer('hold-time: 500ms'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].hold-time',
    message: '"500ms": hold time must be 0 or at least 3s',
  },
  {
    rule: 'hold-time beyond the 16-bit OPEN field',
    yaml: peer('hold-time: 70000s'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].hold-time',
    message: '"70000s": hold time must be at most 65535s',
  },
  {
    rule: 'hold-time without a unit',
    yaml: peer('hold-time: 90'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].hold-time',
    message: '"90": invalid duration: missing unit (ns, us, ms, s, m or h)',
  },
  {
    rule: 'keepalive-time longer than hold-time',
    yaml: peer('keepalive-time: 91s'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].keepalive-time',
    message: '"91s": keepalive time is longer than the hold time (90s)',
  },
  {
    rule: 'keepalive-time 0 with a hold time',
    yaml: peer('keepalive-time: 0s'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].keepalive-time',
    message: '"0s": keepalive time must not be 0 unless the hold time is 0',
  },
  {
    rule: 'negative keepalive-time',
    yaml: peer('keepalive-time: -1s'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].keepalive-time',
    message: '"-1s": keepalive time must not be negative',
  },
  {
    rule: 'ebgp-multihop on an iBGP peer',
    yaml: 'peers: [{peer-address: 10.0.0.1, peer-asn: 64500, my-asn: 64500, ebgp-multihop: true}]',
    code: 'CONFIG_INVALID',
    path: 'peers[0].ebgp-multihop',
    message: 'ebgp-multihop is for eBGP, but peer-asn equals my-asn',
  },
  {
    rule: 'password longer than a TCP MD5 key',
    yaml: peer(`password: ${'x'.repeat(81)}`),
    code: 'CONFIG_INVALID',
    path: 'peers[0].password',
    message: 'password is longer than 80 bytes, the TCP MD5 key limit',
  },
  {
    rule: 'reference to a missing bfd profile',
    yaml: `bfd-profiles: [{name: slow}]\n${peer('bfd-profile: fast')}`,
    code: 'CONFIG_REFERENCE',
    path: 'peers[0].bfd-profile',
    message: 'no bfd profile named "fast" in bfd-profiles',
  },
  {
    rule: 'duplicate peer: same address, port and selectors, whatever else differs',
    yaml: `peers:
- {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500, node-selectors: [{match-labels: {a: b, c: d}}]}
- {peer-address: 10.0.0.1, peer-asn: 64502, my-asn: 64500, hold-time: 30s, node-selectors: [{match-labels: {c: d, a: b}}]}`,
    code: 'CONFIG_DUPLICATE',
    path: 'peers[1]',
    message: 'same peer-address, peer-port and node-selectors as peers[0]',
  },
  // Node selectors
  {
    rule: 'unknown selector operator',
    yaml: peer('node-selectors: [{match-expressions: [{key: a, operator: in, values: [b]}]}]'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].node-selectors[0].match-expressions[0].operator',
    message: 'unknown operator "in" (expected In, NotIn, Exists, DoesNotExist)',
  },
  {
    rule: 'In without values',
    yaml: peer('node-selectors: [{match-expressions: [{key: a, operator: In}]}]'),
    code: 'CONFIG_REQUIRED',
    path: 'peers[0].node-selectors[0].match-expressions[0]',
    message: 'operator In needs at least one value',
  },
  {
    rule: 'Exists with values',
    yaml: peer('node-selectors: [{match-expressions: [{key: a, operator: Exists, values: [b]}]}]'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].node-selectors[0].match-expressions[0].values',
    message: 'operator Exists takes no values',
  },
  {
    rule: 'invalid label key',
    yaml: peer('node-selectors: [{match-labels: {"-bad": x}}]'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].node-selectors[0].match-labels.-bad',
    message:
      '"-bad" is not a valid label key ([prefix/]name; name at most 63 characters, alphanumeric at both ends)',
  },
  {
    rule: 'invalid label value',
    yaml: peer('node-selectors: [{match-expressions: [{key: a, operator: NotIn, values: ["bad value"]}]}]'),
    code: 'CONFIG_INVALID',
    path: 'peers[0].node-selectors[0].match-expressions[0].values[0]',
    message: '"bad value" is not a valid label value (at most 63 characters, alphanumeric at both ends)',
  },
  // BFD profiles
  {
    rule: 'missing bfd profile name',
    yaml: 'bfd-profiles: [{detect-multiplier: 3}]',
    code: 'CONFIG_REQUIRED',
    path: 'bfd-profiles[0].name',
    message: 'missing name',
  },
  {
    rule: 'duplicate bfd profile name',
    yaml: 'bfd-profiles: [{name: x}, {name: x, echo-mode: true}]',
    code: 'CONFIG_DUPLICATE',
    path: 'bfd-profiles[1].name',
    message: 'duplicate bfd profile name "x", already used by bfd-profiles[0]',
  },
  ...(
    [
      ['receive-interval', 9, 10, 60000],
      ['transmit-interval', 60001, 10, 60000],
      ['echo-interval', 5, 10, 60000],
      ['detect-multiplier', 1, 2, 255],
      ['minimum-ttl', 255, 1, 254],
    ] as const
  ).map(([key, value, min, max]) => ({
    rule: `bfd ${key} out of range`,
    yaml: `bfd-profiles: [{name: x, ${key}: ${value}}]`,
    code: 'CONFIG_INVALID',
    path: `bfd-profiles[0].${key}`,
    message: `must be between ${min} and ${max}, got ${value}`,
  })),
];

describe('parseConfig refuses', () => {
  for (const { rule, yaml, code, path, message } of RULES) {
    it(rule, () => {
      assert.deepEqual(problems(yaml), [
        { code, path, message: path === '' ? message : `${path}: ${message}` },
      ]);
    });
  }

  it('with every problem of the document at once, in document order per section', () => {
    const found = problems(`
bgp-communities: {bad: "1:x"}
address-pools:
- name: a
  protocol: layer3
  addresses: [10.0.0.0/24, 10.0.0.300/32]
peers:
- {peer-address: nowhere, peer-asn: 0, my-asn: 64500, color: blue}
`);
    assert.deepEqual(
      found.map((p) => `${p.code} ${p.path}`),
      [
        'CONFIG_INVALID bgp-communities.bad',
        'CONFIG_INVALID address-pools[0].protocol',
        'IP_INVALID address-pools[0].addresses[1]',
        'CONFIG_UNKNOWN_KEY peers[0].color',
        'IP_INVALID peers[0].peer-address',
        'CONFIG_INVALID peers[0].peer-asn',
      ],
    );
  });

  it('every field of a pool or peer, even when its name or address is missing', () => {
    const found = problems(`
address-pools: [{protocol: bgp, addresses: [10.0.0.0/24], auto-assign: maybe, bgp-advertisements: [{localpref: x}]}]
peers: [{peer-asn: 1, my-asn: 2, peer-port: 0}]
`);
    assert.deepEqual(
      found.map((p) => p.path),
      [
        'address-pools[0].name',
        'address-pools[0].auto-assign',
        'address-pools[0].bgp-advertisements[0].localpref',
        'peers[0].peer-address',
        'peers[0].peer-port',
      ],
    );
  });

  it('an alias bomb, without expanding it', () => {
    // Nine levels of ten aliases each: a billion values if expanded.
    const lines = ['  l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `  l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    assert.deepEqual(problems(`bgp-communities:\n${lines.join('\n')}`), [
      {
        code: 'CONFIG_YAML',
        path: '',
        message: 'aliases expand to more than 100000 values',
      },
    ]);
  });

  it('an invalid advertisement without also calling the next one its duplicate', () => {
    const found = problems(pool('bgp-advertisements: [{aggregation-length: 33}, {}]'));
    assert.deepEqual(
      found.map((p) => p.path),
      ['address-pools[0].bgp-advertisements[0].aggregation-length'],
    );
  });
});

describe('parseConfigSource', () => {
  const manifest = (config: string) =>
    `apiVersion: v1
kind: ConfigMap
metadata:
  namespace: metallb-system
  name: config
data:
  config: |
${config
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
  const seed =
    'address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.1.251-192.168.1.253';

  it('reads the config out of a ConfigMap manifest', () => {
    assert.deepEqual(parseConfigSource(manifest(seed)), parseConfig(seed));
  });

  it('reads a bare config too', () => {
    assert.deepEqual(parseConfigSource(seed), parseConfig(seed));
  });

  it('names data.config on syntax errors in the embedded config', () => {
    assert.deepEqual(problems(manifest('peers: [\n'), parseConfigSource), [
      {
        code: 'CONFIG_YAML',
        path: 'data.config',
        message:
          'data.config: line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
  });

  it('keeps config paths for validation errors in the embedded config', () => {
    assert.deepEqual(
      problems(manifest('address-pools: [{name: a, protocol: layer2}]'), parseConfigSource).map(
        (p) => p.path,
      ),
      ['address-pools[0].addresses'],
    );
  });

  const refused: [string, string, string, string][] = [
    [
      'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n',
      'CONFIG_INVALID',
      'kind',
      'expected a ConfigMap manifest or a bare MetalLB config, found "IPAddressPool"',
    ],
    [
      'apiVersion: v1\n',
      'CONFIG_INVALID',
      'kind',
      'expected a ConfigMap manifest or a bare MetalLB config, found no kind',
    ],
    [
      'kind: ConfigMap\ndata: {other: x}\n',
      'CONFIG_REQUIRED',
      'data.config',
      'the ConfigMap has no config key',
    ],
    [
      'kind: ConfigMap\ndata: {config: [a]}\n',
      'CONFIG_TYPE',
      'data.config',
      'expected the config YAML as a string (write `config: |`)',
    ],
  ];
  for (const [text, code, path, message] of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(problems(text, parseConfigSource), [{ code, path, message: `${path}: ${message}` }]);
    });
  }
});

describe('parseDurationMs (Go time.ParseDuration syntax)', () => {
  const valid: [string, number][] = [
    ['90s', 90_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['3s', 3_000],
    ['1.5h', 5_400_000],
    ['0.1s', 100],
    ['.5s', 500],
    ['5.s', 5_000],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1500000ns', 1.5],
    ['0', 0],
    ['-2s', -2_000],
    ['+2s', 2_000],
  ];
  for (const [text, ms] of valid) {
    it(`${text} = ${ms} ms`, () => assert.equal(parseDurationMs(text), ms));
  }

  const invalid: [string, string][] = [
    ['', 'invalid duration: empty'],
    ['-', 'invalid duration: empty'],
    ['90', 'invalid duration: missing unit (ns, us, ms, s, m or h)'],
    ['1s30', 'invalid duration: missing unit (ns, us, ms, s, m or h)'],
    ['1d', 'invalid duration: unknown unit "d" (ns, us, ms, s, m or h)'],
    ['5mss', 'invalid duration: unknown unit "mss" (ns, us, ms, s, m or h)'],
    ['1 s', 'invalid duration: unknown unit " s" (ns, us, ms, s, m or h)'],
    ['.s', 'invalid duration: expected a number'],
    ['s', 'invalid duration: expected a number'],
    ['--1s', 'invalid duration: expected a number'],
    ['9223372036854775808ns', 'invalid duration: too long'],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDurationMs(text), { code: 'CONFIG_INVALID', message });
    });
  }
});

describe('communities', () => {
  const literals: [string, string][] = [
    ['65535:65282', '65535:65282'],
    ['0:0', '0:0'],
    ['7003:007', '7003:7'], // leading zeros are fine, as with Go's ParseUint
    ['large:4294967295:0:1', 'large:4294967295:0:1'],
  ];
  for (const [text, canonical] of literals) {
    it(`round-trips ${text}`, () => assert.equal(formatCommunity(parseCommunity(text)), canonical));
  }

  it('packs a standard community into one uint32', () => {
    assert.deepEqual(parseCommunity('65535:65282'), { kind: 'standard', value: 0xffffff02 });
  });

  for (const text of ['65536:1', '1:', ':1', '0x1:1', ' 1:1', '1:2:3', 'large:1:2:3:4', 'LARGE:1:2:3']) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseCommunity(text), { code: 'CONFIG_INVALID' });
    });
  }
});

describe('widestBlockLength', () => {
  const cases: [string, number][] = [
    ['10.0.0.0/24', 24],
    ['10.0.0.7/32', 32],
    ['3.3.3.2-3.3.3.254', 26],
    ['10.0.0.1-10.0.0.2', 32], // two addresses in different /31s
    ['10.0.0.0-10.0.1.255', 23],
    ['0.0.0.0-255.255.255.255', 0],
    ['2001:db8::/64', 64],
    ['2001:db8::1-2001:db8::ffff', 113],
  ];
  for (const [text, length] of cases) {
    it(`${text} -> /${length}`, () => assert.equal(widestBlockLength(parsePoolAddresses(text)), length));
  }
});
