/**
 * BGP in the lab (real FRR router, real speakers):
 * 1. 10,000 assigned addresses: time from a speaker's start to all 10,000 prefixes in FRR's RIB, the
 *    UPDATE messages it sent, and its RSS.
 * 2. Latency from a Service's address appearing in its status (seen by a watch) to the route being
 *    in FRR's RIB, p50/p99 over 200 Services created one by one.
 * Run: npm run bench -- bgp
 */
import { Watch, type V1Service } from '@kubernetes/client-node';
import { loadKubeConfig } from '../shared/k8s/client.ts';
import { waitFor } from '../test/harness/wait.ts';
import { ClusterLab } from '../test/lab/cluster-lab.ts';
import { listeningRouterConfig } from '../test/lab/frr.ts';
import { inBatches, percentile, rssMiB } from './measure.ts';

const PREFIXES = Number(process.env['BENCH_PREFIXES'] ?? 10_000);
const LATENCY_SERVICES = Number(process.env['BENCH_LATENCY_SERVICES'] ?? 200);
const IN_FLIGHT = 8;

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
  routerConfig: listeningRouterConfig({
    asn: 64501,
    routerId: '10.99.0.1',
    listenRanges: ['10.99.0.0/24'],
    holdSeconds: 9,
  }),
});
try {
  const received = async (peer: string): Promise<number> => {
    const summary = await lab.router.vtyshJson<{
      ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number }> };
    }>('show bgp summary json');
    return summary.ipv4Unicast?.peers?.[peer]?.pfxRcd ?? 0;
  };
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
  await waitFor(async () => (await received('10.99.0.11')) >= PREFIXES, {
    description: `${PREFIXES} prefixes from node1`,
    timeoutMs: 300_000,
    intervalMs: 1000,
  });
  await lab.speakers.get('node1')!.daemon.stop();
  await waitFor(async () => (await received('10.99.0.11')) === 0, {
    description: 'node1 withdrawn',
    timeoutMs: 30_000,
  });
  const started = performance.now();
  const speaker = await lab.startNodeSpeaker('node1');
  await waitFor(async () => (await received('10.99.0.11')) >= PREFIXES, {
    description: `${PREFIXES} prefixes after the restart`,
    timeoutMs: 120_000,
    intervalMs: 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const updates = await speaker.metric('metallb_bgp_updates_total{peer="10.99.0.1:179"}');
  console.log(`\n## BGP: ${PREFIXES} prefixes, one speaker, eBGP to FRR 8.4`);
  console.log(`| speaker process start -> all ${PREFIXES} prefixes in FRR's RIB | ${seconds.toFixed(2)} s |`);
  console.log('|---|---|');
  console.log(
    `| UPDATE messages sent (End-of-RIB included) | ${updates} (${((100 * (updates ?? 0)) / PREFIXES).toFixed(2)}% of prefixes) |`,
  );
  console.log(`| speaker RSS with ${PREFIXES} routes | ${rssMiB(speaker.daemon.pid).toFixed(0)} MiB |`);

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
        ((await lab.router.vtyshJson<{ paths?: unknown[] }>(`show bgp ipv4 unicast ${assigned.ip}/32 json`))
          .paths?.length ?? 0) > 0,
      { description: `${assigned.ip} in FRR`, intervalMs: 2 },
    );
    latencies.push(performance.now() - assigned.at);
  }
  watch.abort();
  console.log(`\n## Address published -> route in FRR's RIB, ${LATENCY_SERVICES} Services one at a time`);
  console.log(
    `| p50 | ${percentile(latencies, 50).toFixed(1)} ms |\n|---|---|\n| p99 | ${percentile(latencies, 99).toFixed(1)} ms |`,
  );
  console.log('(includes the vtysh polling, one call every 2 ms plus its own run time of ~10 ms)');
} finally {
  await lab.stop();
}
