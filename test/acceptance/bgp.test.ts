/**
 * BGP end to end on real components: kube-apiserver, the controller, three speakers (each its own
 * Node in its own namespace) peering with a real FRR router on the same segment. Assertions are
 * what the router has: sessions, paths with next hops and communities, ECMP in its kernel table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useApiServer } from '../harness/apiserver.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterLab } from '../lab/cluster-lab.ts';
import { listeningRouterConfig } from '../lab/frr.ts';

const PEER = `peers:
- peer-address: 10.99.0.1
  peer-asn: 64501
  my-asn: 64500
  hold-time: 3s
  keepalive-time: 1s
`;
const POOLS = `address-pools:
- name: lab
  protocol: layer2
  addresses: [10.99.0.200-10.99.0.250]
- name: bgp
  protocol: bgp
  addresses: [10.98.0.0/24, "fd00:98::/120"]
  bgp-advertisements:
  - communities: [64500:100, "large:64500:1:2"]
`;
const NODE_IPS = ['10.99.0.11', '10.99.0.12', '10.99.0.13'];

let lab: ClusterLab;

/** Runs `check`; on failure adds the speaker's and bgpd's last log lines to the error. */
async function withLogs(node: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (error) {
    const speaker = lab.speakers.get(node)?.daemon.logTail(40) ?? '';
    throw new Error(
      `${(error as Error).message}\n--- ${node} speaker:\n${speaker}\n--- bgpd:\n${lab.router.bgpdLog(40)}`,
    );
  }
}

interface FrrPath {
  nexthops?: { ip?: string; hostname?: string }[];
  community?: { string?: string };
  largeCommunity?: { string?: string };
  aspath?: { string?: string };
}

/** The paths FRR holds for `prefix` (IPv4 or IPv6 unicast); [] when it has no route. */
async function paths(prefix: string): Promise<FrrPath[]> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  return (
    (await lab.router.vtyshJson<{ paths?: FrrPath[] }>(`show bgp ${family} unicast ${prefix} json`)).paths ??
    []
  );
}

/** Each path's first next hop, sorted. */
async function nextHops(prefix: string): Promise<string[]> {
  return (await paths(prefix))
    .flatMap((path) => (path.nexthops ?? []).slice(0, 1).map((hop) => hop.ip ?? '?'))
    .sort();
}

async function waitForNextHops(prefix: string, expected: string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => JSON.stringify(await nextHops(prefix)) === JSON.stringify(expected), {
    description: `FRR to hold ${prefix} via ${expected.join(', ') || 'nothing'} (has ${JSON.stringify(await nextHops(prefix).catch(() => []))})`,
    timeoutMs,
  });
}

async function neighbours(): Promise<
  Record<string, { bgpState?: string; lastNotificationReason?: string; lastResetDueTo?: string }>
> {
  return lab.router.vtyshJson('show bgp neighbors json');
}

describe('BGP', { concurrency: false }, () => {
  const api = useApiServer();
  before(async () => {
    lab = await ClusterLab.start({
      api: api(),
      config: PEER + POOLS,
      routerConfig: listeningRouterConfig({
        asn: 64501,
        routerId: '10.99.0.1',
        listenRanges: ['10.99.0.0/24'],
      }),
    });
  });
  after(async () => {
    await lab?.stop();
  });

  it('brings sessions from all three nodes to Established', async () => {
    await waitFor(
      async () => Object.values(await neighbours()).filter((n) => n.bgpState === 'Established').length === 3,
      {
        description: 'three Established sessions on FRR',
        timeoutMs: 15_000,
      },
    );
    assert.deepEqual(Object.keys(await neighbours()).sort(), NODE_IPS);
  });

  it('advertises IPv4 and IPv6 addresses from every node as ECMP, with communities', async () => {
    const ips = await lab.createService('web', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
      dualStack: true,
      endpointNodes: ['node1'],
    });
    const [v4, v6] = [ips.find((ip) => !ip.includes(':'))!, ips.find((ip) => ip.includes(':'))!];
    await waitForNextHops(`${v4}/32`, NODE_IPS);
    await waitForNextHops(`${v6}/128`, ['fd00:99::11', 'fd00:99::12', 'fd00:99::13']);
    for (const path of await paths(`${v4}/32`)) {
      assert.equal(path.community?.string, '64500:100');
      assert.equal(path.largeCommunity?.string, '64500:1:2');
      assert.equal(path.aspath?.string, '64500');
    }
    // zebra installed the multipath route in the router's kernel.
    const kernel = lab.network.exec(lab.network.router!.ns, 'ip', ['route', 'show', `${v4}/32`]);
    for (const ip of NODE_IPS) assert.match(kernel, new RegExp(`nexthop via ${ip.replace(/\./g, '\\.')} `));
    await lab.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    await waitForNextHops(`${v4}/32`, []);
    await waitForNextHops(`${v6}/128`, []);
  });

  it('with traffic policy Local, advertises only from nodes with endpoints and follows them', async () => {
    const [ip] = await lab.createService('local', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
      trafficPolicy: 'Local',
      endpointNodes: ['node2'],
    });
    await waitForNextHops(`${ip}/32`, ['10.99.0.12']);
    await lab.setEndpoints('local', ['node1', 'node3']);
    await waitForNextHops(`${ip}/32`, ['10.99.0.11', '10.99.0.13']);
  });

  it('sends Cease on SIGTERM, and the router drops only that next hop', async () => {
    const [ip] = await lab.createService('cease', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
    });
    await waitForNextHops(`${ip}/32`, NODE_IPS);
    const speaker = lab.speakers.get('node3')!;
    process.kill(speaker.daemon.pid, 'SIGTERM');
    await speaker.daemon.exited;
    await waitForNextHops(`${ip}/32`, ['10.99.0.11', '10.99.0.12'], 2000);
    // A dynamic neighbour is deleted when it goes down, so its goodbye is read from bgpd's log.
    await waitFor(() => /10\.99\.0\.13.*(Cease\/Administrative Shutdown|6\/2)/.test(lab.router.bgpdLog()), {
      description: 'bgpd to log the Cease/Administrative Shutdown from node3',
      timeoutMs: 3000,
    });
    await lab.startNodeSpeaker('node3');
    await withLogs('node3', () => waitForNextHops(`${ip}/32`, NODE_IPS, 15_000));
  });

  it('keeps routes through a crash thanks to graceful restart, and refreshes them after', async () => {
    const [ip] = await lab.createService('graceful', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
    });
    await waitForNextHops(`${ip}/32`, NODE_IPS);
    const speaker = lab.speakers.get('node2')!;
    process.kill(speaker.daemon.pid, 'SIGKILL');
    await speaker.daemon.exited;
    // No Cease came, the TCP connection just died: with graceful restart FRR keeps node2's path, stale.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(await nextHops(`${ip}/32`), NODE_IPS);
    const stale = (await paths(`${ip}/32`)).filter((path) => JSON.stringify(path).includes('"stale":true'));
    assert.equal(stale.length, 1, "exactly node2's path is marked stale");
    await lab.startNodeSpeaker('node2');
    await withLogs('node2', () =>
      waitFor(async () => !JSON.stringify(await paths(`${ip}/32`)).includes('"stale":true'), {
        description: 'node2 to refresh its path after restarting',
        timeoutMs: 15_000,
      }),
    );
    assert.deepEqual(await nextHops(`${ip}/32`), NODE_IPS);
  });

  it('drops a silent node after the hold time, and takes it back when it returns', async () => {
    const [ip] = await lab.createService('silent', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
    });
    await waitForNextHops(`${ip}/32`, NODE_IPS);
    const node1 = lab.nodeByName('node1');
    lab.network.exec(node1.ns, 'ip', ['link', 'set', 'eth0', 'down']);
    try {
      // Hold time 3 s: FRR's hold timer must expire; no FIN ever arrives.
      await waitForNextHops(`${ip}/32`, ['10.99.0.12', '10.99.0.13'], 10_000);
      assert.match(lab.router.bgpdLog(), /10\.99\.0\.11.*(Hold Timer Expired|4\/0)/);
    } finally {
      lab.network.exec(node1.ns, 'ip', ['link', 'set', 'eth0', 'up']);
    }
    await withLogs('node1', () => waitForNextHops(`${ip}/32`, NODE_IPS, 30_000));
  });

  it('reconnects after a router restart and advertises everything again', async () => {
    const [ip] = await lab.createService('router-restart', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
    });
    await waitForNextHops(`${ip}/32`, NODE_IPS);
    await lab.restartRouter();
    // A fresh bgpd knows nothing: every path it holds again was re-sent by a reconnected speaker.
    await withLogs('node1', () => waitForNextHops(`${ip}/32`, NODE_IPS, 15_000));
    const established = Object.values(await neighbours()).filter((n) => n.bgpState === 'Established');
    assert.equal(established.length, 3);
  });

  it('sends Cease when the peer is removed from the config, and comes back when it returns', async () => {
    const [ip] = await lab.createService('deconfigure', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
    });
    await waitForNextHops(`${ip}/32`, NODE_IPS);
    await lab
      .kubectl([
        'create',
        'configmap',
        'config',
        '-n',
        'metallb-system',
        `--from-literal=config=${POOLS}`,
        '--dry-run=client',
        '-o',
        'yaml',
      ])
      .then((yaml) => lab.kubectl(['apply', '-f', '-'], yaml));
    await waitForNextHops(`${ip}/32`, []);
    await waitFor(async () => Object.values(await neighbours()).every((n) => n.bgpState !== 'Established'), {
      description: 'every session to be closed',
    });
    await lab
      .kubectl([
        'create',
        'configmap',
        'config',
        '-n',
        'metallb-system',
        `--from-literal=config=${PEER + POOLS}`,
        '--dry-run=client',
        '-o',
        'yaml',
      ])
      .then((yaml) => lab.kubectl(['apply', '-f', '-'], yaml));
    await waitForNextHops(`${ip}/32`, NODE_IPS, 15_000);
  });
});
