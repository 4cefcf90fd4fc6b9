/**
 * BGP in the lab (real FRR router, real speakers):
 * 1. 10,000 assigned addresses: time from a speaker's start to all 10,000 prefixes in FRR's RIB, the
 *    UPDATE messages it sent, and its RSS. Reference in the same run: GoBGP (Debian's gobgpd 3.x,
 *    see gobgp.ts) sending the same prefixes from the same node address to the same router.
 * 2. Latency from a Service's address appearing in its status (seen by a watch) to the route being
 *    in FRR's RIB, p50/p99 over 200 Services created one by one.
 *
 * How the two speakers are compared. GoBGP connects out only after a random 5-9 s wait (and never
 * retries sooner than 5 s), so "process start -> routes" would mostly time that wait. The compared
 * figure is therefore "session Established -> all prefixes in FRR's RIB", taken the same way for
 * both: the start is bgpd's own `%ADJCHANGE ... Up` log line (millisecond timestamps, set below),
 * the end the first `show bgp summary json` poll whose pfxRcd for the node reaches the count,
 * polled every 5 ms over bgpd's vty socket (frr-vty.ts; a vtysh process per poll would blur the end
 * by 10-90 ms). GoBGP gets its whole table before its neighbour is enabled, so it sends everything
 * on Established, as our speaker does after a restart with its Services already assigned. Our
 * speaker's process start -> RIB is printed too. UPDATEs are counted by FRR
 * for both (updatesRecv of a fresh dynamic neighbour: End-of-RIB included, when sent), and by each
 * speaker itself. Only one of them peers from node1's address at a time, and node2/node3 are
 * stopped, so FRR's counts for 10.99.0.11 are that speaker's alone.
 * Run: npm run bench -- bgp
 */
import { Watch, type V1Service } from '@kubernetes/client-node';
import { loadKubeConfig } from '../shared/k8s/client.ts';
import { waitFor } from '../test/harness/wait.ts';
import { ClusterLab } from '../test/lab/cluster-lab.ts';
import { listeningRouterConfig } from '../test/lab/frr.ts';
import { openVty } from './frr-vty.ts';
import { startGoBgp } from './gobgp.ts';
import { inBatches, percentile, rssMiB } from './measure.ts';

const PREFIXES = Number(process.env['BENCH_PREFIXES'] ?? 10_000);
const LATENCY_SERVICES = Number(process.env['BENCH_LATENCY_SERVICES'] ?? 200);
const IN_FLIGHT = 8;
const NODE1 = '10.99.0.11';
const POLL_MS = 5;

const CONFIG = `peers:
- peer-address: 10.99.0.1
  peer-asn: 64501
  my-asn: 64500
  hold-time: 9s
address-pools:
- name: lab
  protocol: layer2
  addresses: [10.99.0.200-10.99.0.250]
- name: many
  protocol: bgp
  auto-assign: false
  addresses: [10.128.0.0/12]
- name: latency
  protocol: bgp
  auto-assign: false
  addresses: [10.112.0.0/24]
`;

const lab = await ClusterLab.start({
  config: CONFIG,
  routerConfig:
    listeningRouterConfig({
      asn: 64501,
      routerId: '10.99.0.1',
      listenRanges: ['10.99.0.0/24'],
      holdSeconds: 9,
    }) +
    // Milliseconds on bgpd's log lines: its "Up" line dates each session's Established.
    'log timestamp precision 3\n',
});
// Closed with the lab: the socket dies with bgpd.
const vty = await openVty(lab.router.dir).catch(async (error: unknown) => {
  await lab.stop();
  throw error;
});
try {
  const peers = async (): Promise<Record<string, { pfxRcd?: number }>> =>
    (
      await vty.json<{
        ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number }> };
      }>('show bgp summary json')
    ).ipv4Unicast?.peers ?? {};
  const received = async (peer: string): Promise<number> => (await peers())[peer]?.pfxRcd ?? 0;
  /**
   * Polls bgpd until node1's prefixes are all in: the wall-clock time the poll that saw them
   * returned, and the time since the poll before (the last prefix arrived in between).
   */
  const allInRib = async (description: string): Promise<{ at: number; sincePreviousMs: number }> => {
    let previous = Date.now();
    let last = { at: previous, sincePreviousMs: 0 };
    await waitFor(
      async () => {
        const count = await received(NODE1);
        const at = Date.now();
        last = { at, sincePreviousMs: at - previous };
        previous = at;
        return count >= PREFIXES;
      },
      { description, timeoutMs: 120_000, intervalMs: POLL_MS },
    );
    return last;
  };
  /** The UPDATEs FRR has received from node1's address in the current session. */
  const updatesReceived = async (): Promise<number | undefined> =>
    (
      await vty.json<Record<string, { messageStats?: { updatesRecv?: number } }>>(
        `show bgp neighbors ${NODE1} json`,
      )
    )[NODE1]?.messageStats?.updatesRecv;
  /** When bgpd logged node1's sessions as Established since `since` (epoch ms), oldest first. */
  const establishedSince = (since: number): number[] =>
    lab.router
      .bgpdLog(5000)
      .split('\n')
      .filter((line) => line.includes(`%ADJCHANGE: neighbor ${NODE1}(`) && / Up$/.test(line))
      .map(logTime)
      .filter((at) => at >= since - 1);
  /** A dynamic neighbour is deleted when its session ends: the next one starts with fresh counters. */
  const node1Gone = (what: string): Promise<boolean> =>
    waitFor(async () => !(NODE1 in (await peers())), { description: what, timeoutMs: 30_000 });

  // Only node1 advertises: the others are stopped, so FRR's count is node1's alone.
  for (const name of ['node2', 'node3']) await lab.speakers.get(name)!.daemon.stop();
  const names = Array.from({ length: PREFIXES }, (_, i) => `many-${i}`);
  await inBatches(names, IN_FLIGHT, async (name) => {
    await lab.core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name, annotations: { 'metallb.universe.tf/address-pool': 'many' } },
        spec: {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 80 }],
          selector: { app: 'x' },
        },
      },
    });
    await lab.setEndpoints(name, ['node1']);
  });
  await waitFor(async () => (await received(NODE1)) >= PREFIXES, {
    description: `${PREFIXES} prefixes from node1`,
    timeoutMs: 300_000,
    intervalMs: 1000,
  });
  await lab.speakers.get('node1')!.daemon.stop();
  await node1Gone('node1 withdrawn');

  // GoBGP first, in node1's namespace while its speaker is stopped, with the Services' addresses.
  const prefixes = (await lab.core.listNamespacedService({ namespace: 'default' })).items
    .filter((service) => service.metadata?.name?.startsWith('many-'))
    .map((service) => `${service.status?.loadBalancer?.ingress?.[0]?.ip}/32`);
  if (prefixes.length !== PREFIXES) throw new Error(`${prefixes.length} Services, not ${PREFIXES}`);
  const reference = await (async () => {
    const gobgp = await startGoBgp({
      ns: lab.nodeByName('node1').ns,
      asn: 64500,
      routerId: NODE1,
      peerAddress: '10.99.0.1',
      peerAsn: 64501,
      holdSeconds: 9,
    });
    try {
      await gobgp.load(prefixes);
      const enabled = Date.now();
      await gobgp.enablePeer();
      const done = await allInRib(`${PREFIXES} prefixes from GoBGP`);
      const ups = establishedSince(enabled);
      const established = ups.at(-1);
      if (established === undefined) throw new Error("no Established line for GoBGP's session in bgpd's log");
      return {
        connectWait: established - enabled,
        toRib: done.at - established,
        sincePreviousMs: done.sincePreviousMs,
        sessions: ups.length,
        updates: await updatesReceived(),
        ownCount: await gobgp.updatesSent(),
        rss: rssMiB(gobgp.daemon.pid),
      };
    } finally {
      await gobgp.stop();
    }
  })();
  await node1Gone('GoBGP withdrawn');

  const started = Date.now();
  const speaker = await lab.startNodeSpeaker('node1');
  const done = await allInRib(`${PREFIXES} prefixes after the restart`);
  const ups = establishedSince(started);
  const established = ups.at(-1);
  if (established === undefined) throw new Error("no Established line for our session in bgpd's log");
  const ours = {
    startToEstablished: established - started,
    toRib: done.at - established,
    startToRib: done.at - started,
    sincePreviousMs: done.sincePreviousMs,
    sessions: ups.length,
    updates: await updatesReceived(),
    ownCount: await speaker.metric('metallb_bgp_updates_total{peer="10.99.0.1:179"}'),
    rss: rssMiB(speaker.daemon.pid),
  };

  const s = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
  const share = (updates: number | undefined): string =>
    updates === undefined ? 'n/a' : `${updates} (${((100 * updates) / PREFIXES).toFixed(2)}% of prefixes)`;
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined || b === 0 ? 'n/a' : (a / b).toFixed(2);
  console.log(`\n## BGP: ${PREFIXES} prefixes, one speaker, eBGP to FRR 8.4; reference GoBGP 3.10, same run`);
  console.log('| measure | metallb-ts | GoBGP | ours/GoBGP |');
  console.log('|---|---|---|---|');
  console.log(
    `| session Established -> all ${PREFIXES} prefixes in FRR's RIB | ${s(ours.toRib)} | ${s(reference.toRib)} | ${ratio(ours.toRib, reference.toRib)} |`,
  );
  console.log(
    `| UPDATEs received by FRR (End-of-RIB included) | ${share(ours.updates)} | ${share(reference.updates)} | ${ratio(ours.updates, reference.updates)} |`,
  );
  console.log(
    `| UPDATEs sent, speaker's own count | ${ours.ownCount ?? 'n/a'} | ${reference.ownCount ?? 'n/a'} | |`,
  );
  console.log(
    `| RSS with ${PREFIXES} routes | ${ours.rss.toFixed(0)} MiB | ${reference.rss.toFixed(0)} MiB | ${ratio(ours.rss, reference.rss)} |`,
  );
  console.log(
    `| process start -> Established | ${s(ours.startToEstablished)} | (neighbour enabled -> Established: ${s(reference.connectWait)}, GoBGP's random 5-9 s connect delay) | |`,
  );
  console.log(`| process start -> all ${PREFIXES} prefixes in FRR's RIB | ${s(ours.startToRib)} | | |`);
  console.log(
    `Method: start = bgpd's "%ADJCHANGE ... Up" log line (ms timestamps); end = the first ` +
      `\`show bgp summary json\` poll over bgpd's vty socket seeing pfxRcd >= ${PREFIXES}, every ${POLL_MS} ms ` +
      `(the poll before was ${ours.sincePreviousMs} ms earlier for ours, ${reference.sincePreviousMs} ms for GoBGP). ` +
      `GoBGP's table was loaded (MRT inject) before its neighbour was enabled.`,
  );
  for (const [who, run] of [
    ['our', ours],
    ["GoBGP's", reference],
  ] as const)
    if (run.sessions !== 1)
      console.log(
        `NOTE: ${run.sessions} Established lines for ${who} session: figures are from the last one.`,
      );
  console.log(
    `Goal "at least as fast as GoBGP": ${ours.toRib <= reference.toRib ? 'met' : 'NOT met'}; ` +
      `"UPDATEs under 1% of prefixes": ${ours.updates !== undefined && ours.updates < PREFIXES / 100 ? 'met' : 'NOT met'}.`,
  );

  // Latency, one Service at a time.
  const assignedAt = new Map<string, { ip: string; at: number }>();
  const watch = await new Watch(loadKubeConfig(lab.api.kubeconfigPath)).watch(
    '/api/v1/namespaces/default/services',
    {},
    (_type: string, service: V1Service) => {
      const ip = service.status?.loadBalancer?.ingress?.[0]?.ip;
      const name = service.metadata?.name ?? '';
      if (ip && name.startsWith('lat-') && !assignedAt.has(name))
        assignedAt.set(name, { ip, at: performance.now() });
    },
    () => undefined,
  );
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SERVICES; i++) {
    const name = `lat-${i}`;
    await lab.setEndpoints(name, ['node1']);
    await lab.core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name, annotations: { 'metallb.universe.tf/address-pool': 'latency' } },
        spec: {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 80 }],
          selector: { app: 'x' },
        },
      },
    });
    const assigned = await waitFor(() => assignedAt.get(name), {
      description: `${name} assigned`,
      intervalMs: 2,
    });
    await waitFor(
      async () =>
        ((await vty.json<{ paths?: unknown[] }>(`show bgp ipv4 unicast ${assigned.ip}/32 json`)).paths
          ?.length ?? 0) > 0,
      { description: `${assigned.ip} in FRR`, intervalMs: 2 },
    );
    latencies.push(performance.now() - assigned.at);
  }
  watch.abort();
  console.log(`\n## Address published -> route in FRR's RIB, ${LATENCY_SERVICES} Services one at a time`);
  console.log(
    `| p50 | ${percentile(latencies, 50).toFixed(1)} ms |\n|---|---|\n| p99 | ${percentile(latencies, 99).toFixed(1)} ms |`,
  );
  console.log(
    "(FRR polled every 2 ms over bgpd's vty socket; the clock starts when this bench's watch sees the address)",
  );
} finally {
  vty.close();
  await lab.stop();
}

/** A bgpd log line's time (local, `2026/11/21 10:00:00.123 BGP: ...`) as epoch ms; NaN otherwise. */
function logTime(line: string): number {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(year, month - 1, day, hour, minute, second, ms).getTime();
}
