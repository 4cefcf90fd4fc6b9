/**
 * BgpSession (speaker/bgp/session.ts) against a real FRR bgpd. Two network namespaces joined by a
 * veth pair: "router" runs zebra + bgpd (test/lab/frr.ts) with two passive eBGP neighbours, one of
 * them requiring a TCP MD5 password; "speaker" runs test/harness/bgp-session-driver.ts, one session
 * per process (Node cannot switch namespaces, so each runs under `ip netns exec`). Assertions read
 * FRR's own view through vtysh JSON: routes, next hops, communities, stale marks, the last
 * NOTIFICATION it received. Needs root and the native addon (MD5, TTL).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { onExit } from '../harness/exit-cleanup.ts';
import { waitFor } from '../harness/wait.ts';
import type { DriverConfig, DriverRoute } from '../harness/bgp-session-driver.ts';
import { startFrr, type FrrRouter } from '../lab/frr.ts';

const DRIVER = join(import.meta.dirname, '..', 'harness', 'bgp-session-driver.ts');
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
// Unique per run, so parallel runs and leftovers of a killed one never collide.
const ROUTER_NS = `mlbts-bgp-${process.pid}-r`;
const SPEAKER_NS = `mlbts-bgp-${process.pid}-s`;
const ROUTER_ASN = 64500;
const SPEAKER_ASN = 64512;
const ROUTER_V4 = '10.98.0.1';
const ROUTER_V6 = 'fd00:98::1';
/** The plain neighbour. */
const SPEAKER_V4 = '10.98.0.2';
/** The neighbour FRR only accepts with the MD5 password. */
const SPEAKER_MD5_V4 = '10.98.0.130';
const SPEAKER_V6 = 'fd00:98::2';
const PASSWORD = 'metallb-md5-secret';
const VIP4 = '10.99.5.1/32';
const VIP6 = 'fd00:99:5::1/128';
const COMMUNITY = '64512:100';

const bgpdConfig = (): string =>
  [
    'frr defaults traditional',
    'hostname router',
    '!',
    `router bgp ${ROUTER_ASN}`,
    ` bgp router-id ${ROUTER_V4}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    // Explicit neighbours (not a listen range), so FRR keeps what it last heard from each after
    // the session is gone. Passive: the speaker never listens, connecting to it would only fail.
    ...[SPEAKER_V4, SPEAKER_MD5_V4].flatMap((address) => [
      ` neighbor ${address} remote-as ${SPEAKER_ASN}`,
      ` neighbor ${address} passive`,
      ` neighbor ${address} timers 1 3`,
    ]),
    ` neighbor ${SPEAKER_MD5_V4} password ${PASSWORD}`,
    ...['ipv4', 'ipv6'].flatMap((family) => [
      ` address-family ${family} unicast`,
      ...[SPEAKER_V4, SPEAKER_MD5_V4].flatMap((address) => [
        `  neighbor ${address} activate`,
        `  neighbor ${address} route-map NOTHING out`,
      ]),
      ' exit-address-family',
    ]),
    '!',
    '! The speakers import nothing; the router sends them nothing.',
    'route-map NOTHING deny 10',
    '!',
    '',
  ].join('\n');

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface DriverEvent {
  readonly event: string;
  /** Wall-clock ms in the driver; the test runs on the same machine. */
  readonly at: number;
  readonly [field: string]: unknown;
}

interface Counters {
  readonly state: string;
  readonly updatesSent: number;
  readonly prefixesAnnounced: number;
  readonly prefixesPending: number;
}

/** One driver process: its events as they come, and a way to wait for one. */
class Driver {
  readonly events: DriverEvent[] = [];
  readonly exited: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private waiters = new Set<() => void>();

  constructor(config: DriverConfig) {
    // `ip netns exec` execs the program, so child.pid is the driver's own PID.
    this.child = spawn(
      'ip',
      ['netns', 'exec', SPEAKER_NS, process.execPath, '--import', 'tsx', DRIVER, JSON.stringify(config)],
      { cwd: PROJECT_ROOT },
    );
    drivers.add(this);
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as DriverEvent);
      for (const wake of this.waiters) wake();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        drivers.delete(this);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  command(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  /** The first event (from `from` on) matching the predicate. */
  async waitFor(
    predicate: (event: DriverEvent) => boolean,
    what: string,
    { from = 0, timeoutMs = 10_000 } = {},
  ): Promise<DriverEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) {
        throw new Error(
          `driver: ${this.running ? 'timed out' : 'exited'} waiting for ${what}; events: ${this.events
            .map((e) => e.event)
            .join(', ')}\n${this.stderr.split('\n').slice(-15).join('\n')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 200));
        this.waiters.add(wake);
      });
    }
  }

  async counters(): Promise<Counters> {
    const from = this.events.length;
    this.command({ command: 'counters' });
    const event = await this.waitFor((e) => e.event === 'counters', 'counters', { from });
    return event.counters as Counters;
  }
}

const drivers = new Set<Driver>();
let frr: FrrRouter | undefined;

interface Path {
  readonly valid?: boolean;
  readonly stale?: boolean;
  readonly origin?: string;
  readonly aspath?: { readonly string: string };
  readonly community?: { readonly string: string };
  readonly nexthops?: readonly { readonly ip: string; readonly scope?: string }[];
  readonly peer?: { readonly peerId: string; readonly routerId: string };
}

/** FRR's paths for a prefix (empty when it has none). */
async function paths(family: 'ipv4' | 'ipv6', prefix: string): Promise<readonly Path[]> {
  const route = await frr!.vtyshJson<{ paths?: Path[] }>(`show bgp ${family} unicast ${prefix} json`);
  return route.paths ?? [];
}

interface Neighbor {
  readonly bgpState: string;
  readonly lastErrorCodeSubcode?: string;
  readonly lastNotificationReason?: string;
  readonly lastShutdownDescription?: string;
  readonly bgpTimerHoldTimeMsecs?: number;
  readonly neighborCapabilities?: Record<string, unknown>;
  readonly gracefulRestartInfo?: {
    readonly rBit?: boolean;
    readonly endOfRibRecv?: Record<string, boolean>;
  };
}

async function neighbor(address: string): Promise<Neighbor> {
  const all = await frr!.vtyshJson<Record<string, Neighbor>>(`show bgp neighbors ${address} json`);
  const found = all[address];
  assert.ok(found, `FRR knows no neighbour ${address}`);
  return found;
}

const baseConfig = (routes: readonly DriverRoute[]): DriverConfig => ({
  peerAddress: ROUTER_V4,
  localAddress: SPEAKER_V4,
  myAsn: SPEAKER_ASN,
  peerAsn: ROUTER_ASN,
  nextHop6: SPEAKER_V6,
  routes,
});

const ROUTES: readonly DriverRoute[] = [
  { prefix: VIP4, communities: [COMMUNITY] },
  { prefix: VIP6, communities: [COMMUNITY] },
];

/** How long it took FRR to show a route after the driver's session came up (vtysh polled). */
async function timeUntilInRib(
  family: 'ipv4' | 'ipv6',
  prefix: string,
  since: number,
  accept: (path: Path) => boolean = () => true,
): Promise<number> {
  await waitFor(async () => (await paths(family, prefix)).some(accept), {
    description: `FRR to have ${prefix}`,
    timeoutMs: 10_000,
    intervalMs: 2,
  });
  return Date.now() - since;
}

function teardownNamespaces(): void {
  for (const ns of [SPEAKER_NS, ROUTER_NS]) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // Not created, or already gone.
    }
  }
}

describe('BGP session against FRR', { concurrency: 1 }, () => {
  let forgetNamespaces = (): void => {};

  before(async () => {
    forgetNamespaces = onExit(teardownNamespaces);
    ip(['netns', 'add', ROUTER_NS]);
    ip(['netns', 'add', SPEAKER_NS]);
    ip(['-n', ROUTER_NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', SPEAKER_NS]);
    for (const ns of [ROUTER_NS, SPEAKER_NS]) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    ip(['-n', ROUTER_NS, 'addr', 'add', `${ROUTER_V4}/24`, 'dev', 'eth0']);
    ip(['-n', ROUTER_NS, 'addr', 'add', `${ROUTER_V6}/64`, 'dev', 'eth0', 'nodad']);
    for (const address of [SPEAKER_V4, SPEAKER_MD5_V4]) {
      ip(['-n', SPEAKER_NS, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    }
    ip(['-n', SPEAKER_NS, 'addr', 'add', `${SPEAKER_V6}/64`, 'dev', 'eth0', 'nodad']);
    frr = await startFrr({ ns: ROUTER_NS, bgpdConfig: bgpdConfig() });
  });

  after(async () => {
    for (const driver of [...drivers]) {
      driver.signal('SIGKILL');
      await driver.exited;
    }
    await frr?.stop();
    teardownNamespaces();
    forgetNamespaces();
  });

  let speaker: Driver | undefined;

  it('announces an IPv4 and an IPv6 route with our next hops and community', async (t: TestContext) => {
    speaker = new Driver(baseConfig(ROUTES));
    const started = await speaker.waitFor((e) => e.event === 'started', 'start');
    const established = await speaker.waitFor((e) => e.event === 'established', 'Established');
    const toRib4 = await timeUntilInRib('ipv4', VIP4, established.at);
    const toRib6 = await timeUntilInRib('ipv6', VIP6, established.at);
    t.diagnostic(`start to Established: ${established.at - started.at} ms`);
    t.diagnostic(
      `Established to the route in FRR's RIB (vtysh polled): IPv4 ${toRib4} ms, IPv6 ${toRib6} ms`,
    );

    assert.deepEqual(established.negotiated, {
      fourOctetAs: true,
      families: [4, 6],
      holdTimeSeconds: 3, // min(our 90, FRR's 3)
      keepaliveSeconds: 1,
      peerRouterId: ROUTER_V4,
      peerAsn: ROUTER_ASN,
      routeRefresh: true,
      // FRR is a graceful restart helper by default and has just started itself (R bit).
      gracefulRestart: { restartTimeSeconds: 120, restarting: true, families: [] },
    });

    const [v4] = await paths('ipv4', VIP4);
    assert.equal(v4?.valid, true);
    assert.equal(v4?.origin, 'IGP');
    assert.equal(v4?.aspath?.string, String(SPEAKER_ASN));
    assert.equal(v4?.community?.string, COMMUNITY);
    assert.deepEqual(
      v4?.nexthops?.map((n) => n.ip),
      [SPEAKER_V4],
    );
    assert.equal(v4?.peer?.routerId, SPEAKER_V4, 'router id defaults to the local address');

    const [v6] = await paths('ipv6', VIP6);
    assert.equal(v6?.valid, true);
    assert.equal(v6?.community?.string, COMMUNITY);
    assert.deepEqual(
      v6?.nexthops?.map((n) => [n.ip, n.scope]),
      [[SPEAKER_V6, 'global']],
    );

    const state = await neighbor(SPEAKER_V4);
    assert.equal(state.bgpState, 'Established');
    assert.equal(state.bgpTimerHoldTimeMsecs, 3000);
    assert.equal(state.neighborCapabilities?.gracefulRestart, 'advertisedAndReceived');
    assert.equal(state.neighborCapabilities?.['4byteAs'], 'advertisedAndReceived');
    assert.deepEqual(state.gracefulRestartInfo?.endOfRibRecv, { ipv4Unicast: true, ipv6Unicast: true });
    const counters = await speaker.counters();
    assert.equal(counters.prefixesAnnounced, 2);
    assert.equal(counters.prefixesPending, 0);
    assert.equal(counters.updatesSent, 4, 'one UPDATE per family, then two End-of-RIB');
  });

  it('sends only what changed, and nothing when nothing did', async () => {
    assert.ok(speaker);
    const before = await speaker.counters();
    const changed: DriverRoute[] = [
      { prefix: VIP4, communities: ['64512:200'] },
      { prefix: '10.99.5.2/32', communities: ['64512:200'] },
    ];
    let from = speaker.events.length;
    speaker.command({ command: 'setRoutes', routes: changed });
    const after = (await speaker.waitFor((e) => e.event === 'counters', 'counters', { from }))
      .counters as Counters;
    // One UPDATE withdraws the IPv6 route, one announces both IPv4 routes (same attributes).
    assert.equal(after.updatesSent - before.updatesSent, 2);
    assert.equal(after.prefixesAnnounced, 2);
    await waitFor(async () => (await paths('ipv6', VIP6)).length === 0, {
      description: 'FRR to drop the withdrawn IPv6 route',
    });
    await waitFor(async () => (await paths('ipv4', VIP4))[0]?.community?.string === '64512:200', {
      description: 'FRR to see the new community',
    });
    assert.equal((await paths('ipv4', '10.99.5.2/32')).length, 1);

    from = speaker.events.length;
    speaker.command({ command: 'setRoutes', routes: [...changed].reverse() });
    const same = (await speaker.waitFor((e) => e.event === 'counters', 'counters', { from }))
      .counters as Counters;
    assert.equal(same.updatesSent, after.updatesSent, 'the same table sends nothing');

    from = speaker.events.length;
    speaker.command({ command: 'setRoutes', routes: ROUTES });
    await speaker.waitFor((e) => e.event === 'counters', 'counters', { from });
    await waitFor(async () => (await paths('ipv4', '10.99.5.2/32')).length === 0, {
      description: 'FRR to drop 10.99.5.2/32',
    });
    await waitFor(async () => (await paths('ipv6', VIP6)).length === 1, {
      description: 'FRR to have the IPv6 route again',
    });
  });

  it('graceful restart: a crashed speaker leaves its routes (stale) until it is back', async (t: TestContext) => {
    assert.ok(speaker);
    speaker.signal('SIGKILL'); // no NOTIFICATION: to the router, this looks like a restart
    await speaker.exited;
    await waitFor(async () => (await neighbor(SPEAKER_V4)).bgpState !== 'Established', {
      description: 'FRR to see the session go',
    });
    const [stale] = await paths('ipv4', VIP4);
    assert.equal(stale?.stale, true, 'kept as stale, still used');
    assert.equal((await paths('ipv6', VIP6))[0]?.stale, true);

    speaker = new Driver({ ...baseConfig(ROUTES), restarting: true });
    const established = await speaker.waitFor((e) => e.event === 'established', 'Established');
    const refreshed = await timeUntilInRib('ipv4', VIP4, established.at, (path) => path.stale !== true);
    t.diagnostic(`restarted speaker Established to its route no longer stale: ${refreshed} ms`);
    const state = await neighbor(SPEAKER_V4);
    assert.equal(state.gracefulRestartInfo?.rBit, true, 'our OPEN said we restarted');
    assert.deepEqual(state.gracefulRestartInfo?.endOfRibRecv, { ipv4Unicast: true, ipv6Unicast: true });
    assert.notEqual((await paths('ipv6', VIP6))[0]?.stale, true);
  });

  it('SIGTERM sends Cease/Administrative Shutdown (6/2) and the routes go at once', async () => {
    assert.ok(speaker);
    speaker.signal('SIGTERM');
    await speaker.exited;
    const state = await waitFor(
      async () => {
        const found = await neighbor(SPEAKER_V4);
        return found.bgpState !== 'Established' ? found : undefined;
      },
      { description: 'FRR to see the session go' },
    );
    assert.equal(state.lastErrorCodeSubcode, '0602');
    assert.equal(state.lastNotificationReason, 'Cease/Administrative Shutdown');
    assert.equal(state.lastShutdownDescription, 'metallb-ts speaker shutting down');
    // FRR clears a closed peer's routes just after leaving Established. Without the Cease (as after
    // the SIGKILL above) they would stay, marked stale, for the 120 s restart time.
    let sawStale = false;
    await waitFor(
      async () => {
        const left = [...(await paths('ipv4', VIP4)), ...(await paths('ipv6', VIP6))];
        sawStale ||= left.some((path) => path.stale === true);
        return left.length === 0;
      },
      { description: 'FRR to drop our routes', timeoutMs: 2000, intervalMs: 10 },
    );
    assert.equal(sawStale, false, 'withdrawn, never kept as stale');
    speaker = undefined;
  });

  it('TCP MD5: the signed session comes up (and ends with Peer De-configured, 6/3)', async (t: TestContext) => {
    const signed = new Driver({
      ...baseConfig([{ prefix: '10.99.6.1/32' }]),
      localAddress: SPEAKER_MD5_V4,
      password: PASSWORD,
    });
    const started = await signed.waitFor((e) => e.event === 'started', 'start');
    const established = await signed.waitFor((e) => e.event === 'established', 'Established');
    t.diagnostic(`MD5 session: start to Established ${established.at - started.at} ms`);
    const [path] = await waitFor(
      async () => {
        const found = await paths('ipv4', '10.99.6.1/32');
        return found.length > 0 ? found : undefined;
      },
      { description: 'FRR to have 10.99.6.1/32' },
    );
    assert.equal(path?.peer?.peerId, SPEAKER_MD5_V4);
    assert.deepEqual(
      path?.nexthops?.map((n) => n.ip),
      [SPEAKER_MD5_V4],
      'next hop = the bound source address',
    );
    signed.command({ command: 'stop', reason: 'deconfigured' });
    await signed.exited;
    const state = await waitFor(
      async () => {
        const found = await neighbor(SPEAKER_MD5_V4);
        return found.bgpState !== 'Established' ? found : undefined;
      },
      { description: 'FRR to see the signed session go' },
    );
    assert.equal(state.lastErrorCodeSubcode, '0603');
    assert.equal(state.lastNotificationReason, 'Cease/Peer De-configured');
  });

  it('TCP MD5: without the password the router never answers', async () => {
    const unsigned = new Driver({
      ...baseConfig([{ prefix: '10.99.6.1/32' }]),
      localAddress: SPEAKER_MD5_V4,
      connectTimeoutMs: 800,
    });
    // FRR's kernel drops SYNs without the signature: no RST, no session, only timeouts.
    const failed = await unsigned.waitFor((e) => e.event === 'down', 'a failed attempt', { timeoutMs: 5000 });
    assert.equal(failed.kind, 'connectFailed');
    assert.match(String(failed.message), /ETIMEDOUT/);
    await sleep(1000);
    assert.ok(!unsigned.events.some((e) => e.event === 'established'));
    assert.notEqual((await neighbor(SPEAKER_MD5_V4)).bgpState, 'Established');
    unsigned.signal('SIGTERM');
    await unsigned.exited;
  });
});
