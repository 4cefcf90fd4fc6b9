/**
 * The node proxy and the lab, end to end (real kernel, real speakers, FRR, the client namespace):
 * 1. iperf3 through EXTERNAL-IP:port (the owner's nftables redirect) against iperf3 straight to
 *    nodeIP:NodePort, same client, same server, alternating trials: throughput ratio (goal >= 0.95)
 *    and added latency (curl's connect+response time, p50 over many requests, via vs direct).
 * 2. Service created -> first successful curl from the client, p50/p99 over BENCH_SERVICES Services
 *    (default 50) for layer 2 and for BGP (goal p99 < 1 s). The clock starts before the create call
 *    and includes the EndpointSlice write; curl polls with a 250 ms timeout per attempt.
 * 3. Lab cold start (binaries cached): `bash scripts/lab.sh --once` spawned -> first curl answer
 *    printed (goal < 30 s).
 * Run: npm run bench -- node-proxy
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type Daemon } from '../test/harness/daemon.ts';
import { waitFor } from '../test/harness/wait.ts';
import { BOTH_MODES_CONFIG, BOTH_MODES_ROUTER, ClusterLab } from '../test/lab/cluster-lab.ts';
import { announcerOrder } from '../speaker/layer2/election.ts';
import { percentile } from './measure.ts';

const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 50);
const IPERF_TRIALS = Number(process.env['BENCH_IPERF_TRIALS'] ?? 3);
const IPERF_SECONDS = 5;
const IPERF_NODE_PORT = 30500;
const LATENCY_REQUESTS = 200;
const NODES = ['node1', 'node2', 'node3'];
const REPO = join(import.meta.dirname, '..');
const run = promisify(execFile);

// The lab's layer-2 pool (51 addresses) is too small for all the Services here: widen it to the
// rest of the segment above the client (.100).
const CONFIG = BOTH_MODES_CONFIG.replace('10.99.0.200-10.99.0.250', '10.99.0.101-10.99.0.250');
if (CONFIG === BOTH_MODES_CONFIG)
  throw new Error('the lab config no longer has the layer-2 range this bench widens');
const lab = await ClusterLab.start({ config: CONFIG, routerConfig: BOTH_MODES_ROUTER, nodeProxy: true });
const iperfServers: Daemon[] = [];
try {
  const inClient = async (command: string, args: string[]): Promise<string> =>
    (await run('ip', ['netns', 'exec', lab.network.client.ns, command, ...args], { encoding: 'utf8' }))
      .stdout;

  // 1. Throughput and latency through the proxy.
  for (const node of lab.nodes) {
    iperfServers.push(
      await startDaemon({
        name: `iperf3-${node.name}`,
        command: 'ip',
        args: ['netns', 'exec', node.ns, 'iperf3', '-s', '-p', String(IPERF_NODE_PORT)],
        logFile: join(lab.api.dir, `iperf3-${node.name}.log`),
      }),
    );
  }
  const [vip] = await lab.createService('iperf', {
    ports: [{ port: 5201, nodePort: IPERF_NODE_PORT }],
    endpointNodes: NODES,
  });
  const owner = lab.nodeByName(announcerOrder(vip!, NODES)[0]!);
  await waitFor(
    async () => {
      try {
        await inClient('iperf3', ['-c', vip!, '-p', '5201', '-t', '1']);
        return true;
      } catch {
        return false;
      }
    },
    { description: `iperf3 through ${vip}`, timeoutMs: 30_000 },
  );
  const iperf = async (host: string, port: number): Promise<number> => {
    const report = JSON.parse(
      await inClient('iperf3', ['-c', host, '-p', String(port), '-t', String(IPERF_SECONDS), '-J']),
    ) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second / 1e9;
  };
  const via: number[] = [];
  const direct: number[] = [];
  for (let trial = 0; trial < IPERF_TRIALS; trial++) {
    via.push(await iperf(vip!, 5201));
    direct.push(await iperf(owner.ipv4, IPERF_NODE_PORT));
  }
  const [webIp] = await lab.createService('latency', { ports: [{ port: 8080 }], endpointNodes: NODES });
  const [webNodePort] = await lab.nodePorts('latency');
  const webOwner = lab.nodeByName(announcerOrder(webIp!, NODES)[0]!);
  await waitFor(() => lab.curlFromClient(webIp!, 8080), { description: `curl ${webIp}` });
  const curlTimes = async (url: string): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < LATENCY_REQUESTS; i++) {
      times.push(
        Number(await inClient('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total}', url])) * 1000,
      );
    }
    return times;
  };
  const viaTimes = await curlTimes(`http://${webIp}:8080/`);
  const directTimes = await curlTimes(`http://${webOwner.ipv4}:${webNodePort}/`);
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  console.log(
    `\n## Node proxy: throughput and latency (layer-2 owner ${owner.name}, veth, ${IPERF_TRIALS} trials of ${IPERF_SECONDS} s)`,
  );
  console.log('| path | iperf3 Gbit/s (each trial) | mean | curl p50 | curl p99 |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| EXTERNAL-IP:5201 via nftables redirect | ${via.map((v) => v.toFixed(2)).join(', ')} | ${mean(via).toFixed(2)} | ${percentile(viaTimes, 50).toFixed(3)} ms | ${percentile(viaTimes, 99).toFixed(3)} ms |`,
  );
  console.log(
    `| nodeIP:NodePort directly | ${direct.map((v) => v.toFixed(2)).join(', ')} | ${mean(direct).toFixed(2)} | ${percentile(directTimes, 50).toFixed(3)} ms | ${percentile(directTimes, 99).toFixed(3)} ms |`,
  );
  console.log(
    `throughput ratio via/direct: ${(mean(via) / mean(direct)).toFixed(3)}; added latency p50: ${(percentile(viaTimes, 50) - percentile(directTimes, 50)).toFixed(3)} ms`,
  );

  // 2. Service created -> first successful curl.
  const firstCurl = async (name: string, annotations: Record<string, string>): Promise<number> => {
    const started = performance.now();
    const [ip] = await lab.createService(name, { ports: [{ port: 80 }], endpointNodes: NODES, annotations });
    await waitFor(() => lab.curlFromClient(ip!, 80, 0.25), {
      description: `first curl to ${name} at ${ip}`,
      timeoutMs: 30_000,
      intervalMs: 1,
    });
    return performance.now() - started;
  };
  console.log(
    `\n## Service created -> first successful curl from the client, ${SERVICES} Services one at a time`,
  );
  console.log('| mode | p50 | p99 | max |');
  console.log('|---|---|---|---|');
  for (const [mode, annotations] of [
    ['layer 2', {}],
    ['BGP (client behind the router)', { 'metallb.universe.tf/address-pool': 'bgp' }],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < SERVICES; i++)
      times.push(await firstCurl(`${mode.split(' ')[0]!.toLowerCase()}-${i}`, annotations));
    console.log(
      `| ${mode} | ${percentile(times, 50).toFixed(0)} ms | ${percentile(times, 99).toFixed(0)} ms | ${Math.max(...times).toFixed(0)} ms |`,
    );
  }
} finally {
  await Promise.all(iperfServers.map((server) => server.stop()));
  await lab.stop();
}

// 3. Cold start of the lab command, binaries cached.
const coldStart = await new Promise<number>((resolve, reject) => {
  const started = performance.now();
  const child = spawn('bash', [join(REPO, 'scripts/lab.sh'), '--once'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  let answeredAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (answeredAt === undefined && output.includes("You've hit")) answeredAt = performance.now() - started;
  });
  child.on('exit', (code) =>
    answeredAt !== undefined && code === 0
      ? resolve(answeredAt)
      : reject(new Error(`lab.sh --once exited ${code} without an answer:\n${output.slice(-2000)}`)),
  );
});
console.log(`\n## Lab cold start (scripts/lab.sh --once, binaries cached) -> first curl answer printed`);
console.log(`| ${(coldStart / 1000).toFixed(1)} s |\n|---|`);
