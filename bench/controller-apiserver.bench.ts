/**
 * The controller against the real kube-apiserver.
 * 1. Create 1,000 LoadBalancer Services (8 requests in flight); for each, time from the create
 *    request to the EXTERNAL-IP appearing in a watch. Reference in the same run: the apiserver's
 *    own create latency (request to response) and the time until the watch delivers the created
 *    Service. Also: time from the last create to the last assignment.
 * 2. Restart with 5,000 assigned Services: time from process start to ready, and to the first new
 *    Service assigned; addresses changed across the restart (must be 0).
 * Run: npm run bench -- controller
 */
import { join } from 'node:path';
import { CoreV1Api, Watch, type V1Service } from '@kubernetes/client-node';
import { loadKubeConfig } from '../shared/k8s/client.ts';
import { startApiServer } from '../test/harness/apiserver.ts';
import { startController, type ControllerProcess } from '../test/harness/controller-process.ts';
import { waitFor } from '../test/harness/wait.ts';
import { cpuSeconds, inBatches, percentile } from './measure.ts';

const LATENCY_SERVICES = Number(process.env['BENCH_LATENCY_SERVICES'] ?? 1000);
const RESTART_SERVICES = Number(process.env['BENCH_RESTART_SERVICES'] ?? 5000);
const PACED_SERVICES = Number(process.env['BENCH_PACED_SERVICES'] ?? 200);
const IN_FLIGHT = 8;

const CONFIG = `address-pools:
- name: bench
  protocol: layer2
  addresses: [10.128.0.0/12]
`;

const now = (): number => performance.now();
const ms = (value: number): string => `${value.toFixed(1)} ms`;

function serviceBody(ns: string, name: string): V1Service {
  return {
    metadata: { name, namespace: ns },
    spec: {
      type: 'LoadBalancer',
      // 5,000 Services would exhaust the apiserver's 2,768 NodePorts; the controller needs none.
      allocateLoadBalancerNodePorts: false,
      selector: { app: name },
      ports: [{ port: 80, targetPort: 8080 }],
    },
  };
}

const api = await startApiServer();
let controller: ControllerProcess | undefined;
try {
  const kubeConfig = loadKubeConfig(api.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'metallb-system' } } });
  await core.createNamespacedConfigMap({
    namespace: 'metallb-system',
    body: { metadata: { name: 'config' }, data: { config: CONFIG } },
  });
  controller = await startController(api.kubeconfigPath, join(api.dir, 'controller.log'), [
    '--log-level=info',
  ]);
  await waitFor(() => controller!.ready(), { description: 'controller ready', timeoutMs: 30_000 });

  // --- 1. latency: a burst (IN_FLIGHT creates at a time) and a paced run (one every 50 ms)
  const measure = async (ns: string, count: number, paced: boolean): Promise<void> => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const sent = new Map<string, number>();
    const seen = new Map<string, number>();
    const assigned = new Map<string, number>();
    const watch = await new Watch(kubeConfig).watch(
      `/api/v1/namespaces/${ns}/services`,
      {},
      (_phase: string, service: V1Service) => {
        const name = service.metadata?.name ?? '';
        if (!seen.has(name)) seen.set(name, now());
        if (!assigned.has(name) && (service.status?.loadBalancer?.ingress?.length ?? 0) > 0)
          assigned.set(name, now());
      },
      () => undefined,
    );
    const createLatency: number[] = [];
    const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
    const create = async (name: string): Promise<void> => {
      const start = now();
      sent.set(name, start);
      await core.createNamespacedService({ namespace: ns, body: serviceBody(ns, name) });
      createLatency.push(now() - start);
    };
    const cpuBefore = cpuSeconds(controller!.daemon.pid);
    if (paced) {
      for (const name of names) {
        await create(name);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } else {
      await inBatches(names, IN_FLIGHT, create);
    }
    const lastCreate = now();
    await waitFor(() => assigned.size === count, {
      description: `all ${count} Services assigned`,
      timeoutMs: 120_000,
      intervalMs: 5,
    });
    watch.abort();
    const cpuPerService = ((cpuSeconds(controller!.daemon.pid) - cpuBefore) / count) * 1000;
    const toIp = names.map((n) => assigned.get(n)! - sent.get(n)!);
    const toWatch = names.map((n) => seen.get(n)! - sent.get(n)!);
    const overWatch = names.map((n) => assigned.get(n)! - seen.get(n)!);
    const lastAssigned = Math.max(...assigned.values());
    const how = paced ? 'one create every 50 ms' : `${IN_FLIGHT} creates in flight`;
    console.log(`\n## Controller vs the real apiserver: ${count} Services, ${how}`);
    console.log('| measure | p50 | p99 |');
    console.log('|---|---|---|');
    console.log(
      `| apiserver create latency (reference) | ${ms(percentile(createLatency, 50))} | ${ms(percentile(createLatency, 99))} |`,
    );
    console.log(
      `| create request -> watch sees Service (reference) | ${ms(percentile(toWatch, 50))} | ${ms(percentile(toWatch, 99))} |`,
    );
    console.log(
      `| create request -> EXTERNAL-IP in watch | ${ms(percentile(toIp, 50))} | ${ms(percentile(toIp, 99))} |`,
    );
    console.log(
      `| controller's share: watch sees Service -> EXTERNAL-IP | ${ms(percentile(overWatch, 50))} | ${ms(percentile(overWatch, 99))} |`,
    );
    console.log(
      `last create -> last assignment: ${ms(lastAssigned - lastCreate)}; controller CPU per Service: ${cpuPerService.toFixed(2)} ms`,
    );
  };
  await measure('latency', LATENCY_SERVICES, false);
  await measure('paced', PACED_SERVICES, true);

  // --- 2. restart with RESTART_SERVICES assigned
  await core.createNamespace({ body: { metadata: { name: 'restart' } } });
  const restartNames = Array.from(
    { length: RESTART_SERVICES - LATENCY_SERVICES - PACED_SERVICES },
    (_, i) => `r-${i}`,
  );
  await inBatches(restartNames, IN_FLIGHT, async (name) => {
    await core.createNamespacedService({ namespace: 'restart', body: serviceBody('restart', name) });
  });
  const snapshot = async (): Promise<Map<string, string>> => {
    const list = await core.listServiceForAllNamespaces();
    return new Map(
      list.items.map((s) => [
        `${s.metadata?.namespace}/${s.metadata?.name}`,
        (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(','),
      ]),
    );
  };
  await waitFor(async () => [...(await snapshot()).values()].filter((ip) => ip).length === RESTART_SERVICES, {
    description: `all ${RESTART_SERVICES} Services assigned`,
    timeoutMs: 180_000,
    intervalMs: 500,
  });
  const before = await snapshot();
  await controller.daemon.stop();
  const restartStart = now();
  controller = await startController(api.kubeconfigPath, join(api.dir, 'controller-2.log'), [
    '--log-level=info',
  ]);
  await waitFor(() => controller!.ready(), {
    description: 'restarted controller ready',
    timeoutMs: 60_000,
    intervalMs: 10,
  });
  const readyAfter = now() - restartStart;
  await core.createNamespacedService({ namespace: 'restart', body: serviceBody('restart', 'after-restart') });
  await waitFor(
    async () =>
      ((await core.readNamespacedService({ name: 'after-restart', namespace: 'restart' })).status
        ?.loadBalancer?.ingress?.length ?? 0) > 0,
    { description: 'a new Service assigned after restart', timeoutMs: 60_000, intervalMs: 10 },
  );
  const firstNewAfter = now() - restartStart;
  const after = await snapshot();
  const changed = [...before].filter(([key, ip]) => after.get(key) !== ip).length;
  const newIp = after.get('restart/after-restart') ?? '';
  const duplicates = [...before.values()].includes(newIp) ? 1 : 0;
  console.log(`\n## Controller restart with ${RESTART_SERVICES} assigned Services`);
  console.log(`| process start -> ready (all assignments learned) | ${ms(readyAfter)} |`);
  console.log(`|---|---|`);
  console.log(`| process start -> first new Service assigned | ${ms(firstNewAfter)} |`);
  console.log(`| addresses changed across restart | ${changed} |`);
  console.log(`| new Service given a held address | ${duplicates} |`);
  const rss = process.memoryUsage().rss;
  console.log(`(bench process RSS ${(rss / 2 ** 20).toFixed(0)} MiB; node ${process.version})`);
} finally {
  await controller?.daemon.stop();
  await api.stop();
}
