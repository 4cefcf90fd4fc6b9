/**
 * Layer 2 in the lab (real kernel, real speakers):
 * 1. Failover, 20 trials each: kill -9 of the owner's speaker, SIGTERM, and kill -9 for an IPv6
 *    address. Measured from the signal to (a) the first gratuitous ARP / unsolicited NA from the new
 *    owner seen by tcpdump on the client and (b) the client's neighbour entry changing (ip monitor).
 * 2. ARP answering: requests/s answered and reply latency at 10,000 req/s; reference in the same
 *    run: the Linux kernel answering for a node's own address at the same rate.
 * 3. Speaker RSS idle and with 1,000 announced addresses.
 * Run: npm run bench -- layer2
 */
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { announcerOrder } from '../speaker/layer2/election.ts';
import { waitFor } from '../test/harness/wait.ts';
import { ClusterLab } from '../test/lab/cluster-lab.ts';
import { percentile, rssMiB } from './measure.ts';

const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 20);
/** Which parts to run (comma list of failover, arp, rss); all by default. */
const SECTIONS = new Set((process.env['BENCH_SECTIONS'] ?? 'failover,arp,rss').split(','));

/** A line-reading child in the client namespace; each line handed over with its arrival time. */
function watchLines(args: string[], onLine: (line: string) => void): () => Promise<void> {
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let cut = buffer.indexOf('\n'); cut >= 0; cut = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 1);
    }
  });
  return async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
}

/** tcpdump -tt prints epoch seconds; ip -ts monitor prints an ISO time. Both to epoch ms. */
const tcpdumpTime = (line: string): number => Number(line.split(' ')[0]) * 1000;
const monitorTime = (line: string): number => Date.parse(line.slice(1, line.indexOf(']')) + 'Z');

async function failoverTrial(
  lab: ClusterLab,
  ip: string,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<{ garp: number; neighbour: number }> {
  const [owner, successor] = announcerOrder(ip, lab.alive());
  const successorMac = lab.nodeByName(successor!).mac;
  lab.resolveFromClient(ip);
  await waitFor(() => lab.clientNeighbour(ip) === owner, {
    description: `client to hold ${owner} for ${ip}`,
  });
  const client = lab.network.client.ns;
  let garpAt: number | undefined;
  let neighbourAt: number | undefined;
  const stopDump = watchLines(
    ['netns', 'exec', client, 'tcpdump', '-i', 'eth0', '-nn', '-l', '-tt', 'ether', 'src', successorMac],
    (line) => {
      if (garpAt === undefined && line.includes(ip)) garpAt = tcpdumpTime(line);
    },
  );
  const stopMonitor = watchLines(['-n', client, '-ts', 'monitor', 'neigh'], (line) => {
    if (neighbourAt === undefined && line.includes(`${ip} `) && line.includes(successorMac))
      neighbourAt = monitorTime(line);
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const signalledAt = Date.now();
  process.kill(lab.speakers.get(owner!)!.daemon.pid, signal);
  try {
    await waitFor(() => garpAt !== undefined && neighbourAt !== undefined, {
      description: `failover of ${ip} to ${successor}`,
      timeoutMs: 10_000,
      intervalMs: 10,
    });
  } finally {
    await stopDump();
    await stopMonitor();
  }
  await lab.speakers.get(owner!)!.daemon.exited;
  await lab.startNodeSpeaker(owner!);
  // The restarted owner takes its address back; let the client follow before the next trial.
  lab.resolveFromClient(ip);
  await waitFor(() => lab.clientNeighbour(ip) === owner, {
    description: `${owner} to take ${ip} back`,
    timeoutMs: 10_000,
  });
  return { garp: garpAt! - signalledAt, neighbour: neighbourAt! - signalledAt };
}

async function failover(
  lab: ClusterLab,
  name: string,
  ip: string,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<string> {
  const garp: number[] = [];
  const neighbour: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const result = await failoverTrial(lab, ip, signal);
    garp.push(result.garp);
    neighbour.push(result.neighbour);
  }
  const f = (v: number): string => `${v.toFixed(0)} ms`;
  return `| ${name} | ${f(percentile(garp, 50))} | ${f(percentile(garp, 99))} | ${f(percentile(neighbour, 50))} | ${f(percentile(neighbour, 99))} |`;
}

function arpLoad(
  lab: ClusterLab,
  target: string,
  rate: number,
): { answered: number; sent: number; p50: number; p99: number } {
  const client = lab.network.client;
  const links = JSON.parse(lab.network.exec(client.ns, 'ip', ['-j', 'link', 'show', 'eth0'])) as {
    ifindex: number;
  }[];
  const output = execFileSync(
    'ip',
    [
      'netns',
      'exec',
      client.ns,
      process.execPath,
      '--import',
      'tsx',
      join(import.meta.dirname, 'arp-load.ts'),
      'eth0',
      String(links[0]!.ifindex),
      client.mac,
      target,
      String(rate),
      '3',
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').at(-1)!) as {
    answered: number;
    sent: number;
    p50: number;
    p99: number;
  };
}

const lab = await ClusterLab.start({
  config: `address-pools:
- name: lab
  protocol: layer2
  addresses:
  - 10.99.0.200-10.99.0.250
  - fd00:99::200-fd00:99::250
- name: many
  protocol: layer2
  auto-assign: false
  addresses: [10.99.8.0/22]
`,
});
try {
  const [v4] = await lab.createService('bench-v4', { ip: '10.99.0.240' });
  const ips = await lab.createService('bench-v6', { dualStack: true, ip: '10.99.0.241,fd00:99::241' });
  const v6 = ips.find((ip) => ip.includes(':'))!;
  if (SECTIONS.has('failover')) {
    console.log(`\n## Layer-2 failover, ${TRIALS} trials each (3 nodes; membership defaults)`);
    console.log(
      '| event | first gratuitous from new owner p50 | p99 | client neighbour entry changed p50 | p99 |',
    );
    console.log('|---|---|---|---|---|');
    console.log(await failover(lab, 'kill -9, IPv4', v4!, 'SIGKILL'));
    console.log(await failover(lab, 'SIGTERM, IPv4', v4!, 'SIGTERM'));
    console.log(await failover(lab, 'kill -9, IPv6', v6, 'SIGKILL'));
  }

  const owner = announcerOrder(v4!, lab.alive())[0]!;
  const rate = 10_000;
  if (SECTIONS.has('arp')) {
    const speaker = arpLoad(lab, v4!, rate);
    const kernel = arpLoad(lab, lab.nodeByName(owner).ipv4, rate);
    console.log(`\n## ARP answering at ${rate} requests/s for 3 s (client namespace -> ${owner})`);
    console.log('| answerer | answered/sent | reply p50 | reply p99 |');
    console.log('|---|---|---|---|');
    for (const [name, r] of [
      ['speaker (VIP)', speaker],
      ['Linux kernel (node address), reference', kernel],
    ] as const) {
      console.log(`| ${name} | ${r.answered}/${r.sent} | ${r.p50.toFixed(3)} ms | ${r.p99.toFixed(3)} ms |`);
    }
  }

  // RSS: one speaker announcing everything (the others stopped), idle and with 1,000 addresses.
  if (SECTIONS.has('rss')) {
    const keep = 'node1';
    for (const name of lab.alive().filter((n) => n !== keep)) await lab.speakers.get(name)!.daemon.stop();
    const pid = lab.speakers.get(keep)!.daemon.pid;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleRss = rssMiB(pid);
    for (let i = 0; i < 1000; i++) {
      await lab.core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name: `many-${i}`, annotations: { 'metallb.universe.tf/address-pool': 'many' } },
          spec: {
            type: 'LoadBalancer',
            allocateLoadBalancerNodePorts: false,
            ports: [{ port: 80 }],
            selector: { app: 'x' },
          },
        },
      });
      await lab.setEndpoints(`many-${i}`, ['node1']);
    }
    await waitFor(
      async () =>
        ((await lab.speakers.get(keep)!.metrics()).match(
          /^metallb_speaker_announced\{[^}]*10\.99\.(8|9|10|11)\./gm,
        )?.length ?? 0) >= 1000,
      { description: '1,000 addresses announced by node1', timeoutMs: 120_000, intervalMs: 1000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    console.log(`\n## Speaker memory (RSS of the one running speaker)`);
    console.log(
      `| idle (3 addresses) | ${idleRss.toFixed(1)} MiB |\n|---|---|\n| 1,000 announced addresses | ${rssMiB(pid).toFixed(1)} MiB |`,
    );
  }
} finally {
  await lab.stop();
}
