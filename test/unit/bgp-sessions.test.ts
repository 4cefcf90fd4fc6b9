import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSessions, type SessionHandle } from '../../speaker/bgp/sessions.ts';
import type { BgpSessionOptions, SessionRoute } from '../../speaker/bgp/session.ts';
import type { AdvertisedRoute } from '../../speaker/bgp/routes.ts';
import { addressesFromIp } from '../../speaker/node-addresses.ts';
import type { Peer } from '../../shared/config/types.ts';
import { formatIp, parseIp } from '../../shared/ip/address.ts';
import { createLogger } from '../../shared/log.ts';
import { Registry } from '../../shared/metrics.ts';

const peer = (address: string, extra: Partial<Peer> = {}): Peer => ({
  peerAddress: parseIp(address),
  peerAsn: 64501,
  myAsn: 64500,
  peerPort: 179,
  sourceAddress: undefined,
  holdTimeSeconds: 3,
  keepaliveTimeSeconds: 1,
  routerId: undefined,
  nodeSelectors: [],
  password: undefined,
  ebgpMultihop: false,
  bfdProfile: undefined,
  ...extra,
});

const route = (ip: string, localPref?: number): AdvertisedRoute => ({
  prefix: { family: 4, address: parseIp(ip), length: 32 },
  key: `${ip}/32`,
  localPref,
  communities: [0xfde8_0001],
  largeCommunities: [],
});

class FakeSession implements SessionHandle {
  started = 0;
  stopped: string[] = [];
  routes: readonly SessionRoute[] = [];
  constructor(readonly options: BgpSessionOptions) {}
  start(): void {
    this.started++;
  }
  async stop(reason: 'shutdown' | 'deconfigured'): Promise<void> {
    this.stopped.push(reason);
  }
  setRoutes(routes: readonly SessionRoute[]): void {
    this.routes = routes;
  }
  get counters() {
    return {
      state: 'Established' as const,
      updatesSent: 2,
      prefixesAnnounced: this.routes.length,
      prefixesPending: 0,
      messagesReceived: 0,
      updatesReceived: 0,
      establishedCount: 1,
    };
  }
}

function setup(now = () => 0) {
  const created: FakeSession[] = [];
  const registry = new Registry();
  const sessions = new BgpSessions({
    createSession: (options) => {
      const session = new FakeSession(options);
      created.push(session);
      return session;
    },
    nodeAddresses: { 4: parseIp('10.99.0.11'), 6: parseIp('fd00:99::11') },
    log: createLogger({}, 'error'),
    registry,
    now,
  });
  return { sessions, created, registry };
}

describe('BGP sessions manager', () => {
  it('starts one session per peer and gives eBGP routes our AS and no LOCAL_PREF', () => {
    const { sessions, created } = setup();
    sessions.setDesired([peer('10.99.0.1')], [route('10.9.0.1', 50)]);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.started, 1);
    assert.deepEqual(created[0]!.routes[0]?.attributes, {
      origin: 'igp',
      asPath: [64500],
      communities: [0xfde8_0001],
      largeCommunities: [],
    });
    assert.equal(formatIp(created[0]!.options.routerId!), '10.99.0.11');
    assert.equal(
      formatIp(created[0]!.options.nextHops![6]!),
      'fd00:99::11',
      'IPv6 next hop over an IPv4 session',
    );
  });

  it('gives iBGP routes an empty AS path and LOCAL_PREF, 100 by default', () => {
    const { sessions, created } = setup();
    sessions.setDesired([peer('10.99.0.1', { peerAsn: 64500 })], [route('10.9.0.1', 50), route('10.9.0.2')]);
    assert.deepEqual(
      created[0]!.routes.map((r) => [r.attributes.asPath, r.attributes.localPref]),
      [
        [[], 50],
        [[], 100],
      ],
    );
  });

  it('leaves unchanged sessions alone, replaces changed ones and removes dropped ones with Peer De-configured', () => {
    const { sessions, created } = setup();
    sessions.setDesired([peer('10.99.0.1'), peer('10.99.0.2')], []);
    sessions.setDesired([peer('10.99.0.1'), peer('10.99.0.2', { holdTimeSeconds: 9 })], [route('10.9.0.1')]);
    assert.equal(created.length, 3);
    assert.deepEqual(created[0]!.stopped, []);
    assert.equal(created[0]!.routes.length, 1, 'the unchanged session got the new table');
    assert.deepEqual(created[1]!.stopped, ['deconfigured']);
    sessions.setDesired([peer('10.99.0.1')], []);
    assert.deepEqual(created[2]!.stopped, ['deconfigured']);
  });

  it('sets the restart bit only for sessions opened soon after start, and shuts down with Administrative Shutdown', async () => {
    let clock = 0;
    const { sessions, created } = setup(() => clock);
    sessions.setDesired([peer('10.99.0.1')], []);
    clock = 120_000;
    sessions.setDesired([peer('10.99.0.1'), peer('10.99.0.2')], []);
    assert.deepEqual(
      created.map((s) => s.options.gracefulRestart?.restarting),
      [true, false],
    );
    await sessions.shutdown();
    assert.deepEqual(
      created.map((s) => s.stopped),
      [['shutdown'], ['shutdown']],
    );
  });

  it('exports MetalLB session metrics per peer', () => {
    const { sessions, registry } = setup();
    sessions.setDesired([peer('10.99.0.1')], [route('10.9.0.1')]);
    const text = registry.render();
    assert.match(text, /metallb_bgp_session_up\{peer="10\.99\.0\.1:179"\} 1/);
    assert.match(text, /metallb_bgp_announced_prefixes_total\{peer="10\.99\.0\.1:179"\} 1/);
  });
});

describe('node addresses', () => {
  it('finds the other family on the interface that holds the node address', () => {
    const found = addressesFromIp(parseIp('10.99.0.11'), [
      { ifname: 'lo', addr_info: [{ family: 'inet6', local: '::1', scope: 'host' }] },
      {
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '10.99.0.11', scope: 'global' },
          { family: 'inet6', local: 'fe80::1', scope: 'link' },
          { family: 'inet6', local: 'fd00:99::11', scope: 'global' },
        ],
      },
    ]);
    assert.deepEqual(Object.fromEntries(Object.entries(found).map(([k, v]) => [k, formatIp(v)])), {
      4: '10.99.0.11',
      6: 'fd00:99::11',
    });
  });
});
