import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator } from '../../controller/allocator.ts';
import type { AllocationRequest } from '../../controller/allocation-request.ts';
import type { AddressPool } from '../../shared/config/types.ts';
import { ConfigErrors, MetallbError } from '../../shared/errors.ts';
import { formatIp, parseIp } from '../../shared/ip/address.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

function pool(name: string, addresses: string[], extra: Partial<AddressPool> = {}): AddressPool {
  return {
    name,
    protocol: 'layer2',
    ranges: addresses.map(parsePoolAddresses),
    autoAssign: true,
    avoidBuggyIps: false,
    bgpAdvertisements: [],
    ...extra,
  };
}

function request(key: string, extra: Partial<AllocationRequest> = {}): AllocationRequest {
  return {
    key,
    families: { kind: 'single', family: 4 },
    requestedIps: [],
    pool: undefined,
    sharingKey: undefined,
    ports: [{ protocol: 'TCP', port: 80 }],
    backendKey: '',
    ...extra,
  };
}

const ips = (allocator: Allocator, key: string): string[] =>
  (allocator.assignmentOf(key)?.ips ?? []).map(formatIp);

function assertCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MetallbError, `expected MetallbError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('allocator: order', () => {
  it('hands out the seed pool lowest first and refuses the fourth', () => {
    const allocator = new Allocator([pool('default', ['192.168.1.251-192.168.1.253'])]);
    assert.deepEqual(
      ['a', 'b', 'c'].map((key) => formatIp(allocator.ensure(request(key)).ips[0]!)),
      ['192.168.1.251', '192.168.1.252', '192.168.1.253'],
    );
    assertCode(() => allocator.ensure(request('d')), 'ALLOC_POOL_EXHAUSTED', /no available addresses/);
  });

  it('reuses a freed address before higher ones', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/29'])]);
    for (const key of ['a', 'b', 'c']) allocator.ensure(request(key));
    allocator.release('b');
    assert.deepEqual(ips(allocator, 'a'), ['10.0.0.0']);
    assert.equal(formatIp(allocator.ensure(request('d')).ips[0]!), '10.0.0.1');
    assert.equal(formatIp(allocator.ensure(request('e')).ips[0]!), '10.0.0.3');
  });

  it('is idempotent: ensuring twice keeps the address', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/29'])]);
    const first = allocator.ensure(request('a'));
    assert.equal(allocator.ensure(request('a')), first);
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 8n, inUse: 1 }]);
  });

  it('walks auto-assign pools in config order and skips auto-assign: false', () => {
    const allocator = new Allocator([
      pool('manual', ['10.9.0.0/30'], { autoAssign: false }),
      pool('first', ['10.1.0.0/31']),
      pool('second', ['10.2.0.0/30']),
    ]);
    const got = ['a', 'b', 'c'].map((key) => {
      const assignment = allocator.ensure(request(key));
      return `${assignment.pool}:${formatIp(assignment.ips[0]!)}`;
    });
    assert.deepEqual(got, ['first:10.1.0.0', 'first:10.1.0.1', 'second:10.2.0.0']);
  });

  it('skips .0 and .255 with avoid-buggy-ips and counts them out of the total', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.255-10.0.1.1'], { avoidBuggyIps: true })]);
    assert.equal(formatIp(allocator.ensure(request('a')).ips[0]!), '10.0.1.1');
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 1n, inUse: 1 }]);
    assertCode(
      () => allocator.ensure(request('b', { requestedIps: [parseIp('10.0.1.0')] })),
      'ALLOC_BUGGY_IP',
      /avoid-buggy-ips/,
    );
  });

  it('allocates from an IPv6 /64 without enumerating it', () => {
    const allocator = new Allocator([pool('v6', ['2001:db8::/64'])]);
    allocator.ensure(request('a', { families: { kind: 'single', family: 6 } }));
    assert.deepEqual(ips(allocator, 'a'), ['2001:db8::']);
    assert.deepEqual(allocator.usage(), [{ pool: 'v6', total: 2n ** 64n, inUse: 1 }]);
  });
});

describe('allocator: requests', () => {
  const pools = [pool('auto', ['10.0.0.0/30']), pool('manual', ['10.9.0.0/30'], { autoAssign: false })];

  it('gives a requested address, also from an auto-assign: false pool', () => {
    const allocator = new Allocator(pools);
    allocator.ensure(request('a', { requestedIps: [parseIp('10.9.0.2')] }));
    assert.deepEqual(allocator.assignmentOf('a'), { pool: 'manual', ips: [parseIp('10.9.0.2')] });
  });

  it('allocates from a named pool, and refuses an unknown one', () => {
    const allocator = new Allocator(pools);
    assert.equal(allocator.ensure(request('a', { pool: 'manual' })).pool, 'manual');
    assertCode(() => allocator.ensure(request('b', { pool: 'nope' })), 'ALLOC_UNKNOWN_POOL', /"nope"/);
  });

  const failures: [string, Partial<AllocationRequest>, string, RegExp][] = [
    [
      'address outside every pool',
      { requestedIps: [parseIp('172.16.0.1')] },
      'ALLOC_IP_NOT_IN_POOL',
      /172\.16\.0\.1/,
    ],
    [
      'address outside the named pool',
      { requestedIps: [parseIp('10.0.0.1')], pool: 'manual' },
      'ALLOC_IP_NOT_IN_POOL',
      /in pool "auto", not in the requested pool "manual"/,
    ],
    [
      'address held by another Service',
      { requestedIps: [parseIp('10.0.0.0')] },
      'ALLOC_IP_IN_USE',
      /in use by holder/,
    ],
    [
      'two addresses of one family',
      { requestedIps: [parseIp('10.0.0.1'), parseIp('10.0.0.2')] },
      'ALLOC_BAD_REQUEST',
      /different families/,
    ],
    [
      'IPv6 address for a SingleStack IPv4 Service',
      { requestedIps: [parseIp('2001:db8::1')] },
      'ALLOC_BAD_REQUEST',
      /SingleStack IPv4/,
    ],
  ];
  for (const [name, extra, code, message] of failures) {
    it(`refuses ${name}`, () => {
      const allocator = new Allocator(pools);
      allocator.ensure(request('holder'));
      assertCode(() => allocator.ensure(request('x', extra)), code, message);
      assert.equal(allocator.assignmentOf('x'), undefined);
    });
  }

  it('keeps the old address when a changed request cannot be met', () => {
    const allocator = new Allocator(pools);
    allocator.ensure(request('a'));
    allocator.ensure(request('b'));
    assertCode(
      () => allocator.ensure(request('a', { requestedIps: [parseIp('10.0.0.1')] })),
      'ALLOC_IP_IN_USE',
    );
    assert.deepEqual(ips(allocator, 'a'), ['10.0.0.0']);
  });

  it('moves to a newly requested address and frees the old one', () => {
    const allocator = new Allocator(pools);
    allocator.ensure(request('a'));
    allocator.ensure(request('a', { requestedIps: [parseIp('10.0.0.3')] }));
    assert.deepEqual(ips(allocator, 'a'), ['10.0.0.3']);
    assert.equal(formatIp(allocator.ensure(request('b')).ips[0]!), '10.0.0.0');
  });
});

describe('allocator: sharing', () => {
  const shared = (key: string, port: number, extra: Partial<AllocationRequest> = {}): AllocationRequest =>
    request(key, { sharingKey: 'web', ports: [{ protocol: 'TCP', port }], ...extra });

  it('lets Services with one key and distinct ports share the lowest address', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.ensure(shared('a', 80));
    allocator.ensure(shared('b', 443));
    assert.deepEqual(ips(allocator, 'b'), ['10.0.0.0']);
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 4n, inUse: 1 }]);
    allocator.release('a');
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 4n, inUse: 1 }], 'b still holds it');
    allocator.release('b');
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 4n, inUse: 0 }]);
  });

  const refusals: [string, Partial<AllocationRequest>, string, RegExp][] = [
    [
      'a different key',
      { sharingKey: 'other', ports: [{ protocol: 'TCP', port: 443 }] },
      'ALLOC_SHARING_REFUSED',
      /sharing key "web"/,
    ],
    [
      'no key',
      { sharingKey: undefined, ports: [{ protocol: 'TCP', port: 443 }] },
      'ALLOC_IP_IN_USE',
      /in use by a/,
    ],
    ['the same port', { ports: [{ protocol: 'TCP', port: 80 }] }, 'ALLOC_SHARING_REFUSED', /port 80\/TCP/],
    [
      'different backends',
      { ports: [{ protocol: 'TCP', port: 443 }], backendKey: 'app=x' },
      'ALLOC_SHARING_REFUSED',
      /same backends/,
    ],
  ];
  for (const [name, extra, code, message] of refusals) {
    it(`refuses a requested shared address with ${name}`, () => {
      const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
      allocator.ensure(shared('a', 80));
      assertCode(
        () => allocator.ensure(shared('b', 0, { requestedIps: [parseIp('10.0.0.0')], ...extra })),
        code,
        message,
      );
    });
  }

  it('gives an incompatible sharer the next free address instead', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.ensure(shared('a', 80));
    allocator.ensure(shared('b', 80));
    assert.deepEqual(ips(allocator, 'b'), ['10.0.0.1']);
  });

  it('allows the same port on different protocols', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.ensure(shared('tcp', 53));
    allocator.ensure(shared('udp', 0, { ports: [{ protocol: 'UDP', port: 53 }] }));
    assert.deepEqual(ips(allocator, 'udp'), ['10.0.0.0']);
  });
});

describe('allocator: dual-stack', () => {
  const dual = pool('dual', ['10.0.0.0/30', '2001:db8::/126']);
  const v4only = pool('v4', ['10.1.0.0/30']);

  it('gives RequireDualStack one address of each family, primary first', () => {
    const allocator = new Allocator([dual]);
    allocator.ensure(request('a', { families: { kind: 'require-dual', primary: 6 } }));
    assert.deepEqual(ips(allocator, 'a'), ['2001:db8::', '10.0.0.0']);
  });

  it('falls back to one family for PreferDualStack in a single-family pool', () => {
    const allocator = new Allocator([v4only]);
    allocator.ensure(request('a', { families: { kind: 'prefer-dual', primary: 6 } }));
    assert.deepEqual(ips(allocator, 'a'), ['10.1.0.0']);
  });

  it('skips pools without both families for RequireDualStack', () => {
    const allocator = new Allocator([v4only, dual]);
    assert.equal(
      allocator.ensure(request('a', { families: { kind: 'require-dual', primary: 4 } })).pool,
      'dual',
    );
    assertCode(
      () => new Allocator([v4only]).ensure(request('b', { families: { kind: 'require-dual', primary: 4 } })),
      'ALLOC_FAMILY_UNAVAILABLE',
      /both an IPv4 and an IPv6/,
    );
  });

  it('keeps the IPv4 address when a Service becomes dual-stack', () => {
    const allocator = new Allocator([dual]);
    allocator.ensure(request('x'));
    allocator.ensure(request('a'));
    allocator.ensure(request('a', { families: { kind: 'require-dual', primary: 4 } }));
    assert.deepEqual(ips(allocator, 'a'), ['10.0.0.1', '2001:db8::']);
  });
});

describe('allocator: learning and config changes', () => {
  it('claims addresses from status and then allocates around them', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.claim(request('old'), [parseIp('10.0.0.0')]);
    assert.equal(formatIp(allocator.ensure(request('new')).ips[0]!), '10.0.0.1');
    assert.deepEqual(ips(allocator, 'old'), ['10.0.0.0']);
  });

  it('refuses a claim of an address held by another', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.claim(request('first'), [parseIp('10.0.0.2')]);
    assertCode(() => allocator.claim(request('second'), [parseIp('10.0.0.2')]), 'ALLOC_IP_IN_USE');
  });

  it('refuses a pool change that would orphan an address in use, and changes nothing', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.ensure(request('a'));
    assert.throws(
      () => allocator.setPools([pool('q', ['10.0.0.1-10.0.0.3'])]),
      (error: unknown) =>
        error instanceof ConfigErrors &&
        error.errors[0]?.code === 'CONFIG_IN_USE' &&
        /10\.0\.0\.0 is held by a/.test(error.message),
    );
    assert.deepEqual(allocator.usage(), [{ pool: 'p', total: 4n, inUse: 1 }]);
  });

  it('accepts a pool change that keeps addresses in use, moving them to the new pool', () => {
    const allocator = new Allocator([pool('p', ['10.0.0.0/30'])]);
    allocator.ensure(request('a'));
    allocator.setPools([pool('renamed', ['10.0.0.0/29'])]);
    assert.deepEqual(allocator.assignmentOf('a'), { pool: 'renamed', ips: [parseIp('10.0.0.0')] });
    assert.equal(formatIp(allocator.ensure(request('b')).ips[0]!), '10.0.0.1');
    assert.deepEqual(allocator.usage(), [{ pool: 'renamed', total: 8n, inUse: 2 }]);
  });
});
