/**
 * Allocator throughput and memory: 100,000 allocations in an IPv4 /12 and in an IPv6 /64.
 * Reference in the same run: the same number of allocations in a pool just big enough (/15 for
 * IPv4), so the ratio shows whether pool size costs anything. Also churn: release 10% at random and
 * allocate them again (the freed-address heap path).
 * Run: npm run bench -- allocator   (or: node --expose-gc --import tsx bench/allocator.bench.ts)
 */
import { Allocator } from '../controller/allocator.ts';
import type { AllocationRequest } from '../controller/allocation-request.ts';
import type { AddressPool } from '../shared/config/types.ts';
import type { Family } from '../shared/ip/address.ts';
import { parsePoolAddresses } from '../shared/ip/range.ts';

const COUNT = 100_000;

function pool(cidr: string): AddressPool {
  return {
    name: cidr,
    protocol: 'layer2',
    ranges: [parsePoolAddresses(cidr)],
    autoAssign: true,
    avoidBuggyIps: false,
    bgpAdvertisements: [],
  };
}

function request(key: string, family: Family): AllocationRequest {
  return {
    key,
    families: { kind: 'single', family },
    requestedIps: [],
    pool: undefined,
    sharingKey: undefined,
    ports: [{ protocol: 'TCP', port: 80 }],
    backendKey: '',
  };
}

function heapMiB(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

interface Result {
  readonly name: string;
  readonly perSecond: number;
  readonly heapMiB: number;
  readonly churnPerSecond: number;
}

function run(name: string, cidr: string, family: Family): Result {
  const heapBefore = heapMiB();
  const allocator = new Allocator([pool(cidr)]);
  const keys = Array.from({ length: COUNT }, (_, i) => `ns/svc-${i}`);
  const started = process.hrtime.bigint();
  for (const key of keys) allocator.ensure(request(key, family));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const heap = heapMiB() - heapBefore;

  // Churn: free every tenth, then allocate them again; they must come back from the freed heap.
  const churned = keys.filter((_, i) => i % 10 === 3);
  const churnStart = process.hrtime.bigint();
  for (const key of churned) allocator.release(key);
  for (const key of churned) allocator.ensure(request(key, family));
  const churnSeconds = Number(process.hrtime.bigint() - churnStart) / 1e9;
  const inUse = allocator.usage()[0]?.inUse;
  if (inUse !== COUNT) throw new Error(`expected ${COUNT} in use, got ${inUse}`);
  return {
    name,
    perSecond: COUNT / seconds,
    heapMiB: heap,
    churnPerSecond: (2 * churned.length) / churnSeconds,
  };
}

if (!globalThis.gc) console.warn('run with --expose-gc for exact heap figures');
// Warm-up so the JIT has compiled the hot path before anything is measured.
run('warm-up', '10.0.0.0/15', 4);
const results = [
  run('IPv4 /15 (reference: just big enough)', '10.0.0.0/15', 4),
  run('IPv4 /12', '10.0.0.0/12', 4),
  run('IPv6 /64', '2001:db8::/64', 6),
];
const reference = results[0]!;
console.log(`allocator: ${COUNT.toLocaleString('en')} allocations per pool (node ${process.version})`);
console.log('| pool | allocations/s | vs reference | heap MiB | bytes/allocation | churn ops/s |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en')} | ${(r.perSecond / reference.perSecond).toFixed(2)} | ${r.heapMiB.toFixed(1)} | ${Math.round((r.heapMiB * 2 ** 20) / COUNT)} | ${Math.round(r.churnPerSecond).toLocaleString('en')} |`,
  );
}
