/**
 * The address allocator: pure, synchronous, no Kubernetes. It owns which requester holds which
 * address, and decides new assignments by MetalLB's rules, made deterministic:
 *   requested IPs > pool annotation > auto-assign pools in config order; lowest free address first.
 * Nothing here enumerates a pool, so the cost of an allocation does not grow with pool size.
 */
import { ConfigErrors, MetallbError } from '../shared/errors.ts';
import { formatIp, type Family, type IpAddress } from '../shared/ip/address.ts';
import { rangeContains, rangeSize, type IpRange } from '../shared/ip/range.ts';
import type { AddressPool } from '../shared/config/types.ts';
import type { AllocationRequest, FamilyPolicy, PortSpec } from './allocation-request.ts';
import { FreeCursor } from './free-cursor.ts';
import { sharingConflict } from './sharing.ts';

export interface Assignment {
  readonly pool: string;
  readonly ips: readonly IpAddress[];
}

export interface PoolUsage {
  readonly pool: string;
  /** Addresses the pool can hand out (buggy ones excluded when avoided). */
  readonly total: bigint;
  readonly inUse: number;
}

/** What a requester brings to an address it holds; compared when another wants to share it. */
export interface Holder {
  readonly key: string;
  readonly sharingKey: string | undefined;
  readonly ports: readonly PortSpec[];
  readonly backendKey: string;
}

interface AddressUse {
  readonly ip: IpAddress;
  pool: PoolState;
  readonly holders: Map<string, Holder>;
}

interface PoolState {
  readonly pool: AddressPool;
  readonly cursors: readonly FreeCursor[];
  readonly families: ReadonlySet<Family>;
  inUse: number;
}

const addressKey = (ip: IpAddress): string => `${ip.family}|${ip.value}`;

/** IPv4 .0 and .255 are taken for network/broadcast addresses by some firmware (MetalLB's avoid-buggy-ips). */
const isBuggy = (family: Family, value: bigint): boolean =>
  family === 4 && ((value & 0xffn) === 0n || (value & 0xffn) === 0xffn);

function buggyCount(range: IpRange): bigint {
  if (range.family !== 4) return 0n;
  // Count v in [first, last] with v mod 256 equal to 0, then to 255.
  const upTo = (v: bigint, residue: bigint): bigint => (v - residue >= 0n ? (v - residue) / 256n + 1n : 0n);
  return (
    upTo(range.last, 0n) - upTo(range.first - 1n, 0n) + upTo(range.last, 255n) - upTo(range.first - 1n, 255n)
  );
}

export class Allocator {
  private pools = new Map<string, PoolState>();
  private readonly uses = new Map<string, AddressUse>();
  private readonly assignments = new Map<string, { assignment: Assignment; holder: Holder }>();
  /** sharing key -> addresses held under it, so shareable candidates are found without a scan. */
  private readonly shared = new Map<string, Set<AddressUse>>();

  constructor(pools: readonly AddressPool[] = []) {
    this.rebuildPools(pools);
  }

  /**
   * Switches to a new pool list. Refused, with one error per address, when an address in use
   * would belong to no pool: a config change must never take an address from a Service.
   */
  setPools(pools: readonly AddressPool[]): void {
    const orphans: MetallbError[] = [];
    for (const use of this.uses.values()) {
      if (!pools.some((pool) => pool.ranges.some((range) => rangeContains(range, use.ip)))) {
        const holders = [...use.holders.keys()].join(', ');
        orphans.push(
          new MetallbError(
            'CONFIG_IN_USE',
            `${formatIp(use.ip)} is held by ${holders} but is in no address pool of the new config`,
            'address-pools',
          ),
        );
      }
    }
    if (orphans.length > 0) throw new ConfigErrors(orphans);
    this.rebuildPools(pools);
    for (const use of this.uses.values()) {
      use.pool = this.poolStateOf(use.ip)!;
      use.pool.inUse++;
    }
    for (const [key, entry] of this.assignments) {
      const first = entry.assignment.ips[0];
      const pool = first ? this.poolStateOf(first)!.pool.name : entry.assignment.pool;
      this.assignments.set(key, { ...entry, assignment: { pool, ips: entry.assignment.ips } });
    }
  }

  assignmentOf(key: string): Assignment | undefined {
    return this.assignments.get(key)?.assignment;
  }

  /**
   * Makes sure `request` holds addresses that satisfy it: keeps what it has when still valid,
   * else picks new ones. On failure nothing changes (a Service keeps its old address) and the
   * error says why, with a stable code.
   */
  ensure(request: AllocationRequest): Assignment {
    const current = this.assignments.get(request.key);
    if (current && this.satisfies(request, current.assignment)) {
      this.hold(request, current.assignment);
      return current.assignment;
    }
    const chosen =
      request.requestedIps.length > 0 ? this.chooseRequested(request) : this.chooseFromPools(request);
    this.hold(request, chosen);
    return chosen;
  }

  /**
   * Records addresses a requester already holds (learned from Service status at start-up).
   * Only conflicts are refused here; whether they still fit the request is ensure()'s job.
   */
  claim(request: AllocationRequest, ips: readonly IpAddress[]): Assignment {
    let pool: PoolState | undefined;
    for (const ip of ips) {
      pool = this.poolStateOf(ip);
      if (!pool) throw new MetallbError('ALLOC_IP_NOT_IN_POOL', `${formatIp(ip)} is not in any address pool`);
      this.checkUsable(request, pool, ip);
    }
    if (!pool) throw new MetallbError('ALLOC_BAD_REQUEST', 'no addresses to claim');
    const assignment = { pool: pool.pool.name, ips };
    this.hold(request, assignment);
    return assignment;
  }

  release(key: string): void {
    const entry = this.assignments.get(key);
    if (!entry) return;
    this.assignments.delete(key);
    for (const ip of entry.assignment.ips) {
      const use = this.uses.get(addressKey(ip));
      if (!use) continue;
      use.holders.delete(key);
      const sharingKey = entry.holder.sharingKey;
      if (sharingKey !== undefined && ![...use.holders.values()].some((h) => h.sharingKey === sharingKey)) {
        this.shared.get(sharingKey)?.delete(use);
        if (this.shared.get(sharingKey)?.size === 0) this.shared.delete(sharingKey);
      }
      if (use.holders.size > 0) continue;
      this.uses.delete(addressKey(ip));
      use.pool.inUse--;
      use.pool.cursors.find((cursor) => rangeContains(cursor.range, ip))?.release(ip.value);
    }
  }

  usage(): PoolUsage[] {
    return [...this.pools.values()].map((state) => ({
      pool: state.pool.name,
      total: state.pool.ranges.reduce(
        (sum, range) => sum + rangeSize(range) - (state.pool.avoidBuggyIps ? buggyCount(range) : 0n),
        0n,
      ),
      inUse: state.inUse,
    }));
  }

  private rebuildPools(pools: readonly AddressPool[]): void {
    this.pools = new Map(
      pools.map((pool) => [
        pool.name,
        {
          pool,
          families: new Set(pool.ranges.map((range) => range.family)),
          inUse: 0,
          cursors: pool.ranges.map(
            (range) =>
              new FreeCursor(
                range,
                (value) =>
                  this.uses.has(`${range.family}|${value}`) ||
                  (pool.avoidBuggyIps && isBuggy(range.family, value)),
              ),
          ),
        },
      ]),
    );
  }

  private poolStateOf(ip: IpAddress): PoolState | undefined {
    for (const state of this.pools.values()) {
      if (state.pool.ranges.some((range) => rangeContains(range, ip))) return state;
    }
    return undefined;
  }

  /** The families `policy` needs from `pool`, or undefined when the pool cannot serve it. */
  private familiesFor(policy: FamilyPolicy, pool: PoolState): Family[] | undefined {
    const other = (family: Family): Family => (family === 4 ? 6 : 4);
    switch (policy.kind) {
      case 'single':
        return pool.families.has(policy.family) ? [policy.family] : undefined;
      case 'require-dual':
        return pool.families.has(4) && pool.families.has(6)
          ? [policy.primary, other(policy.primary)]
          : undefined;
      case 'prefer-dual': {
        const families = [policy.primary, other(policy.primary)].filter((f) => pool.families.has(f));
        return families.length > 0 ? families : undefined;
      }
    }
  }

  private satisfies(request: AllocationRequest, assignment: Assignment): boolean {
    const pool = this.pools.get(assignment.pool);
    if (!pool) return false;
    if (request.pool !== undefined && request.pool !== assignment.pool) return false;
    if (request.requestedIps.length > 0) {
      const wanted = new Set(request.requestedIps.map(addressKey));
      if (
        wanted.size !== assignment.ips.length ||
        !assignment.ips.every((ip) => wanted.has(addressKey(ip)))
      ) {
        return false;
      }
    } else {
      const families = this.familiesFor(request.families, pool);
      const held = assignment.ips.map((ip) => ip.family);
      if (!families || families.length !== held.length || !families.every((f) => held.includes(f)))
        return false;
    }
    return assignment.ips.every((ip) => this.usableError(request, pool, ip) === undefined);
  }

  private chooseRequested(request: AllocationRequest): Assignment {
    const families = request.requestedIps.map((ip) => ip.family);
    if (new Set(families).size !== families.length) {
      throw new MetallbError('ALLOC_BAD_REQUEST', 'requested addresses must be of different families');
    }
    const policy = request.families;
    if (policy.kind === 'single' && (families.length !== 1 || families[0] !== policy.family)) {
      throw new MetallbError(
        'ALLOC_BAD_REQUEST',
        `a SingleStack IPv${policy.family} Service needs exactly one IPv${policy.family} address`,
      );
    }
    if (policy.kind === 'require-dual' && families.length !== 2) {
      throw new MetallbError(
        'ALLOC_BAD_REQUEST',
        'a RequireDualStack Service needs one IPv4 and one IPv6 address',
      );
    }
    let pool: PoolState | undefined;
    for (const ip of request.requestedIps) {
      const owner = this.poolStateOf(ip);
      if (!owner)
        throw new MetallbError('ALLOC_IP_NOT_IN_POOL', `${formatIp(ip)} is not in any address pool`);
      if (request.pool !== undefined && owner.pool.name !== request.pool) {
        throw new MetallbError(
          'ALLOC_IP_NOT_IN_POOL',
          `${formatIp(ip)} is in pool "${owner.pool.name}", not in the requested pool "${request.pool}"`,
        );
      }
      if (pool && pool !== owner) {
        throw new MetallbError('ALLOC_BAD_REQUEST', 'requested addresses must come from one pool');
      }
      pool = owner;
      this.checkUsable(request, owner, ip);
    }
    return { pool: pool!.pool.name, ips: request.requestedIps };
  }

  private chooseFromPools(request: AllocationRequest): Assignment {
    let candidates: PoolState[];
    if (request.pool !== undefined) {
      const named = this.pools.get(request.pool);
      if (!named) throw new MetallbError('ALLOC_UNKNOWN_POOL', `unknown address pool "${request.pool}"`);
      candidates = [named];
    } else {
      candidates = [...this.pools.values()].filter((state) => state.pool.autoAssign);
    }
    let servedFamily = false;
    for (const state of candidates) {
      const families = this.familiesFor(request.families, state);
      if (!families) continue;
      servedFamily = true;
      const ips: IpAddress[] = [];
      for (const family of families) {
        const ip = this.pick(request, state, family);
        if (!ip) break;
        ips.push(ip);
      }
      if (ips.length === families.length) return { pool: state.pool.name, ips };
    }
    const where =
      request.pool !== undefined
        ? `pool "${request.pool}"`
        : `the auto-assign pools (${candidates.map((s) => s.pool.name).join(', ') || 'none configured'})`;
    if (!servedFamily) {
      throw new MetallbError(
        'ALLOC_FAMILY_UNAVAILABLE',
        `${where} cannot provide ${describePolicy(request.families)}`,
      );
    }
    throw new MetallbError('ALLOC_POOL_EXHAUSTED', `no available addresses in ${where}`);
  }

  /**
   * The lowest usable address of one family in a pool: the requester's own current address
   * first (an address never moves without need), else the lowest of the free and shareable ones.
   */
  private pick(request: AllocationRequest, state: PoolState, family: Family): IpAddress | undefined {
    const own = this.assignments
      .get(request.key)
      ?.assignment.ips.find((ip) => ip.family === family && this.poolStateOf(ip) === state);
    if (own && this.usableError(request, state, own) === undefined) return own;
    let best: bigint | undefined;
    for (const cursor of state.cursors) {
      if (cursor.range.family !== family) continue;
      const free = cursor.lowestFree();
      if (free !== undefined && (best === undefined || free < best)) best = free;
    }
    if (request.sharingKey !== undefined) {
      for (const use of this.shared.get(request.sharingKey) ?? []) {
        if (use.pool !== state || use.ip.family !== family || (best !== undefined && use.ip.value >= best))
          continue;
        if (this.usableError(request, state, use.ip) === undefined) best = use.ip.value;
      }
    }
    return best === undefined ? undefined : { family, value: best };
  }

  private checkUsable(request: AllocationRequest, state: PoolState, ip: IpAddress): void {
    const error = this.usableError(request, state, ip);
    if (error) throw error;
  }

  private usableError(request: AllocationRequest, state: PoolState, ip: IpAddress): MetallbError | undefined {
    if (state.pool.avoidBuggyIps && isBuggy(ip.family, ip.value)) {
      return new MetallbError(
        'ALLOC_BUGGY_IP',
        `${formatIp(ip)} ends in .0 or .255, which pool "${state.pool.name}" avoids (avoid-buggy-ips)`,
      );
    }
    const use = this.uses.get(addressKey(ip));
    if (!use) return undefined;
    for (const holder of use.holders.values()) {
      if (holder.key === request.key) continue;
      const conflict = sharingConflict(request, holder);
      if (conflict) return new MetallbError(conflict.code, `${formatIp(ip)}: ${conflict.reason}`);
    }
    return undefined;
  }

  private hold(request: AllocationRequest, assignment: Assignment): void {
    const previous = this.assignments.get(request.key)?.assignment;
    if (previous && previous !== assignment) this.release(request.key);
    const holder: Holder = {
      key: request.key,
      sharingKey: request.sharingKey,
      ports: request.ports,
      backendKey: request.backendKey,
    };
    for (const ip of assignment.ips) {
      let use = this.uses.get(addressKey(ip));
      if (!use) {
        const pool = this.poolStateOf(ip)!;
        use = { ip, pool, holders: new Map() };
        this.uses.set(addressKey(ip), use);
        pool.inUse++;
      }
      use.holders.set(request.key, holder);
      if (holder.sharingKey !== undefined) {
        const group = this.shared.get(holder.sharingKey) ?? new Set();
        this.shared.set(holder.sharingKey, group.add(use));
      }
    }
    this.assignments.set(request.key, { assignment, holder });
  }
}

function describePolicy(policy: FamilyPolicy): string {
  switch (policy.kind) {
    case 'single':
      return `an IPv${policy.family} address`;
    case 'require-dual':
      return 'both an IPv4 and an IPv6 address';
    case 'prefer-dual':
      return 'an IPv4 or IPv6 address';
  }
}
