import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as flush } from 'node:timers/promises';
import { parseIp } from '../../shared/ip/address.ts';
import { createLogger } from '../../shared/log.ts';
import { MetallbError } from '../../shared/errors.ts';
import { NftProxy, nftRunner, type NftRunner } from '../../speaker/proxy/nft.ts';
import { proxyRuleset, removalRuleset, type ProxyTarget } from '../../speaker/proxy/ruleset.ts';

function target(ip: string, protocol: 'TCP' | 'UDP', port: number, nodePort: number): ProxyTarget {
  return { ip: parseIp(ip), protocol, port, nodePort };
}

/** The element lines of one map, without indentation and trailing comma. */
function elements(ruleset: string, map: string): string[] {
  const lines = ruleset.split('\n');
  const start = lines.indexOf(`\tmap ${map} {`);
  assert.notEqual(start, -1, `no map ${map} in:\n${ruleset}`);
  const end = lines.indexOf('\t}', start);
  return lines
    .slice(start, end)
    .filter((line) => line.startsWith('\t\t\t'))
    .map((line) => line.trim().replace(/,$/, ''));
}

function throwsMetallbError(fn: () => unknown, code: string, path: string, message: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof MetallbError, `not a MetallbError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.path, path);
    assert.equal(error.message, `${path}: ${message}`);
    return true;
  });
}

const HEADER = 'table inet metallb_ts\ndelete table inet metallb_ts\n';
const CHAIN = [
  '\tchain prerouting {',
  '\t\ttype nat hook prerouting priority dstnat + 1; policy accept;',
  '\t\tmeta nfproto ipv4 meta l4proto { tcp, udp } redirect to :ip daddr . meta l4proto . th dport map @ipv4_targets',
  '\t\tmeta nfproto ipv6 meta l4proto { tcp, udp } redirect to :ip6 daddr . meta l4proto . th dport map @ipv6_targets',
  '\t}',
].join('\n');

describe('proxyRuleset', () => {
  it('replaces the table with empty maps when there is nothing to forward', () => {
    assert.equal(
      proxyRuleset([]),
      HEADER +
        'table inet metallb_ts {\n' +
        '\tmap ipv4_targets {\n' +
        '\t\ttype ipv4_addr . inet_proto . inet_service : inet_service\n' +
        '\t}\n' +
        '\tmap ipv6_targets {\n' +
        '\t\ttype ipv6_addr . inet_proto . inet_service : inet_service\n' +
        '\t}\n' +
        CHAIN +
        '\n}\n',
    );
  });

  it('puts each family in its own map, sorted, in one transaction', () => {
    assert.equal(
      proxyRuleset([
        target('2001:db8::1', 'UDP', 53, 30053),
        target('192.168.1.251', 'TCP', 8080, 31442),
        target('192.168.1.251', 'UDP', 53, 30053),
      ]),
      HEADER +
        'table inet metallb_ts {\n' +
        '\tmap ipv4_targets {\n' +
        '\t\ttype ipv4_addr . inet_proto . inet_service : inet_service\n' +
        '\t\telements = {\n' +
        '\t\t\t192.168.1.251 . tcp . 8080 : 31442,\n' +
        '\t\t\t192.168.1.251 . udp . 53 : 30053,\n' +
        '\t\t}\n' +
        '\t}\n' +
        '\tmap ipv6_targets {\n' +
        '\t\ttype ipv6_addr . inet_proto . inet_service : inet_service\n' +
        '\t\telements = {\n' +
        '\t\t\t2001:db8::1 . udp . 53 : 30053,\n' +
        '\t\t}\n' +
        '\t}\n' +
        CHAIN +
        '\n}\n',
    );
  });

  const cases: { name: string; targets: ProxyTarget[]; ipv4: string[]; ipv6: string[] }[] = [
    {
      name: 'one IPv4 TCP target',
      targets: [target('10.0.0.1', 'TCP', 80, 30080)],
      ipv4: ['10.0.0.1 . tcp . 80 : 30080'],
      ipv6: [],
    },
    {
      name: 'one IPv6 target, in canonical form',
      targets: [target('2001:DB8:0::00A', 'TCP', 443, 30443)],
      ipv4: [],
      ipv6: ['2001:db8::a . tcp . 443 : 30443'],
    },
    {
      name: 'TCP and UDP on the same port',
      targets: [target('10.0.0.1', 'UDP', 53, 30053), target('10.0.0.1', 'TCP', 53, 30054)],
      ipv4: ['10.0.0.1 . tcp . 53 : 30054', '10.0.0.1 . udp . 53 : 30053'],
      ipv6: [],
    },
    {
      name: 'two ports, ordered by number, not text',
      targets: [target('10.0.0.1', 'TCP', 8080, 30081), target('10.0.0.1', 'TCP', 443, 30080)],
      ipv4: ['10.0.0.1 . tcp . 443 : 30080', '10.0.0.1 . tcp . 8080 : 30081'],
      ipv6: [],
    },
    {
      name: 'addresses ordered by value, not text',
      targets: [
        target('10.0.0.10', 'TCP', 80, 30080),
        target('10.0.0.9', 'TCP', 80, 30081),
        target('2001:db8::10', 'TCP', 80, 30082),
        target('2001:db8::9', 'TCP', 80, 30083),
      ],
      ipv4: ['10.0.0.9 . tcp . 80 : 30081', '10.0.0.10 . tcp . 80 : 30080'],
      ipv6: ['2001:db8::9 . tcp . 80 : 30083', '2001:db8::10 . tcp . 80 : 30082'],
    },
    {
      name: 'exact duplicates once',
      targets: [target('10.0.0.1', 'TCP', 80, 30080), target('10.0.0.1', 'TCP', 80, 30080)],
      ipv4: ['10.0.0.1 . tcp . 80 : 30080'],
      ipv6: [],
    },
    {
      name: 'conflicting duplicates: the lowest NodePort wins',
      targets: [target('10.0.0.1', 'TCP', 80, 30090), target('10.0.0.1', 'TCP', 80, 30080)],
      ipv4: ['10.0.0.1 . tcp . 80 : 30080'],
      ipv6: [],
    },
    {
      name: 'the extreme ports',
      targets: [target('::', 'UDP', 65535, 1), target('0.0.0.0', 'UDP', 1, 65535)],
      ipv4: ['0.0.0.0 . udp . 1 : 65535'],
      ipv6: [':: . udp . 65535 : 1'],
    },
  ];
  for (const { name, targets, ipv4, ipv6 } of cases) {
    it(`generates ${name}`, () => {
      const text = proxyRuleset(targets);
      assert.deepEqual(elements(text, 'ipv4_targets'), ipv4);
      assert.deepEqual(elements(text, 'ipv6_targets'), ipv6);
    });
  }

  it('gives the same text whatever the order of the targets', () => {
    const targets = [
      target('10.0.0.2', 'UDP', 53, 30053),
      target('fd00::1', 'TCP', 80, 30080),
      target('10.0.0.1', 'TCP', 80, 30080),
      target('10.0.0.1', 'TCP', 80, 30070),
      target('10.0.0.1', 'UDP', 80, 30081),
    ];
    const expected = proxyRuleset(targets);
    for (const order of [
      [...targets].reverse(),
      [targets[3]!, targets[0]!, targets[4]!, targets[2]!, targets[1]!],
    ]) {
      assert.equal(proxyRuleset(order), expected);
    }
  });

  const valid = target('10.0.0.1', 'TCP', 80, 30080);
  const invalid: { name: string; bad: Record<string, unknown>; path: string; message: string }[] = [
    {
      name: 'port 0',
      bad: { port: 0 },
      path: 'targets[1].port',
      message: 'must be an integer 1-65535, not 0',
    },
    {
      name: 'port 65536',
      bad: { port: 65536 },
      path: 'targets[1].port',
      message: 'must be an integer 1-65535, not 65536',
    },
    {
      name: 'a fractional NodePort',
      bad: { nodePort: 30080.5 },
      path: 'targets[1].nodePort',
      message: 'must be an integer 1-65535, not 30080.5',
    },
    {
      name: 'a missing NodePort',
      bad: { nodePort: undefined },
      path: 'targets[1].nodePort',
      message: 'must be an integer 1-65535, not undefined',
    },
    {
      name: 'SCTP',
      bad: { protocol: 'SCTP' },
      path: 'targets[1].protocol',
      message: 'must be TCP or UDP, not "SCTP"',
    },
    {
      name: 'a lowercase protocol',
      bad: { protocol: 'tcp' },
      path: 'targets[1].protocol',
      message: 'must be TCP or UDP, not "tcp"',
    },
    {
      name: 'family 5',
      bad: { ip: { family: 5, value: 1n } },
      path: 'targets[1].ip.family',
      message: 'must be 4 or 6, not 5',
    },
    {
      name: 'an IPv4 value over 32 bits',
      bad: { ip: { family: 4, value: 1n << 32n } },
      path: 'targets[1].ip.value',
      message: 'is not an IPv4 address',
    },
    {
      name: 'a negative IPv6 value',
      bad: { ip: { family: 6, value: -1n } },
      path: 'targets[1].ip.value',
      message: 'is not an IPv6 address',
    },
  ];
  for (const { name, bad, path, message } of invalid) {
    it(`refuses ${name}, naming the field`, () =>
      throwsMetallbError(
        () => proxyRuleset([valid, { ...valid, ...bad } as unknown as ProxyTarget]),
        'PROXY_INVALID',
        path,
        message,
      ));
  }
});

describe('removalRuleset', () => {
  it('deletes only our table, declaring it first so a missing table is no error', () => {
    assert.equal(removalRuleset(), HEADER);
  });
});

describe('nftRunner', () => {
  it('feeds the ruleset on stdin of `<command> -f -`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-runner-'));
    try {
      const run = nftRunner(['sh', '-c', 'echo "$@" > "$0/args"; cat > "$0/stdin"', dir]);
      await run('table inet metallb_ts\n');
      assert.equal(readFileSync(join(dir, 'args'), 'utf8'), '-f -\n');
      assert.equal(readFileSync(join(dir, 'stdin'), 'utf8'), 'table inet metallb_ts\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing binary as NFT_NOT_FOUND, naming nft and its Debian package', async () => {
    await assert.rejects(nftRunner(['/nonexistent/nft'])(''), (error) => {
      assert.ok(error instanceof MetallbError);
      assert.equal(error.code, 'NFT_NOT_FOUND');
      assert.match(error.message, /nft binary/);
      assert.match(error.message, /Debian package nftables/);
      return true;
    });
  });

  it("reports a failing nft as NFT_FAILED with nft's stderr", async () => {
    const run = nftRunner([
      'sh',
      '-c',
      'cat >/dev/null; echo "Error: Could not process rule: No such file" >&2; exit 1',
    ]);
    await assert.rejects(run('x'), (error) => {
      assert.ok(error instanceof MetallbError);
      assert.equal(error.code, 'NFT_FAILED');
      assert.match(error.message, /failed \(exit code 1\): Error: Could not process rule: No such file$/);
      return true;
    });
  });
});

/** A runner whose runs finish when the test says so; it records every text and any overlap. */
class FakeNft {
  readonly texts: string[] = [];
  maxConcurrent = 0;
  private readonly pending: { resolve: () => void; reject: (error: Error) => void }[] = [];

  readonly run: NftRunner = (text) => {
    this.texts.push(text);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.maxConcurrent = Math.max(this.maxConcurrent, this.pending.length);
    });
  };

  get running(): number {
    return this.pending.length;
  }

  /** Ends the oldest run, successfully or with `error`, and lets the proxy react. */
  async finish(error?: Error): Promise<void> {
    const run = this.pending.shift();
    assert.ok(run, 'no nft run to finish');
    if (error) run.reject(error);
    else run.resolve();
    for (let i = 0; i < 5; i++) await flush();
  }
}

async function started(): Promise<{ proxy: NftProxy; nft: FakeNft; logs: Record<string, unknown>[] }> {
  const nft = new FakeNft();
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({}, 'debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const starting = NftProxy.start({ log, run: nft.run });
  await nft.finish();
  return { proxy: await starting, nft, logs };
}

const A = [target('10.0.0.1', 'TCP', 80, 30080)];
const B = [target('10.0.0.2', 'TCP', 80, 30080)];
const C = [target('10.0.0.3', 'UDP', 53, 30053)];

describe('NftProxy', () => {
  it('starts by replacing the table with an empty one', async () => {
    const { nft } = await started();
    assert.deepEqual(nft.texts, [proxyRuleset([])]);
  });

  it('applies only the latest of a burst, one nft run at a time', async () => {
    const { proxy, nft } = await started();
    proxy.setTargets(A);
    proxy.setTargets(B);
    proxy.setTargets(C);
    assert.equal(nft.running, 1);
    await nft.finish();
    assert.equal(nft.running, 1);
    await nft.finish();
    await proxy.settled();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset(A), proxyRuleset(C)]);
    assert.equal(nft.maxConcurrent, 1);
  });

  it('does not run nft when the text is unchanged', async () => {
    const { proxy, nft } = await started();
    proxy.setTargets([]);
    proxy.setTargets([...A, ...C]);
    await nft.finish();
    proxy.setTargets([...C, ...A, ...A]);
    await proxy.settled();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset([...A, ...C])]);
  });

  it('skips a state that is already on its way', async () => {
    const { proxy, nft } = await started();
    proxy.setTargets(A);
    proxy.setTargets(B);
    proxy.setTargets(A);
    await nft.finish();
    await proxy.settled();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset(A)]);
  });

  it('keeps the applied state on failure, says why, and retries on the next call', async () => {
    const { proxy, nft, logs } = await started();
    proxy.setTargets(A);
    await nft.finish();
    proxy.setTargets(B);
    const failure = new MetallbError('NFT_FAILED', 'nft -f - failed (exit code 1): Error: boom');
    await nft.finish(failure);
    await proxy.settled();
    assert.equal(proxy.lastError, failure);
    assert.equal(nft.running, 0, 'a failed text is not retried in a loop');
    assert.ok(logs.some((l) => l['level'] === 'error' && JSON.stringify(l).includes('boom')));
    // The kernel still holds A: asking for A again needs no nft run, and there is no error to report.
    proxy.setTargets(A);
    await proxy.settled();
    assert.equal(nft.texts.length, 3);
    assert.equal(proxy.lastError, undefined);
    proxy.setTargets(B);
    await nft.finish();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset(A), proxyRuleset(B), proxyRuleset(B)]);
    assert.equal(proxy.lastError, undefined);
  });

  it('tries a newer state that arrived while a run failed', async () => {
    const { proxy, nft } = await started();
    proxy.setTargets(A);
    proxy.setTargets(B);
    await nft.finish(new Error('boom'));
    await nft.finish();
    await proxy.settled();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset(A), proxyRuleset(B)]);
    assert.equal(proxy.lastError, undefined);
  });

  it('refuses an invalid target at once and changes nothing', async () => {
    const { proxy, nft } = await started();
    assert.throws(() => proxy.setTargets([target('10.0.0.1', 'TCP', 80, 0)]), { code: 'PROXY_INVALID' });
    await proxy.settled();
    assert.equal(nft.texts.length, 1);
  });

  it('removes the table on stop, after the run in flight, and ignores later targets', async () => {
    const { proxy, nft } = await started();
    proxy.setTargets(A);
    const stopping = proxy.stop();
    proxy.setTargets(B);
    await nft.finish();
    await nft.finish();
    await stopping;
    proxy.setTargets(C);
    await proxy.settled();
    assert.deepEqual(nft.texts.slice(1), [proxyRuleset(A), removalRuleset()]);
    assert.equal(nft.maxConcurrent, 1);
  });

  it('resolves stop even when the removal fails, keeping the error', async () => {
    const { proxy, nft } = await started();
    const stopping = proxy.stop();
    await nft.finish(new MetallbError('NFT_FAILED', 'gone'));
    await stopping;
    assert.equal((proxy.lastError as MetallbError | undefined)?.code, 'NFT_FAILED');
  });

  it('fails to start with NFT_NOT_FOUND without the nft binary', async () => {
    await assert.rejects(
      NftProxy.start({ log: createLogger({}, 'error', () => {}), run: nftRunner(['/nonexistent/nft']) }),
      { name: 'MetallbError', code: 'NFT_NOT_FOUND' },
    );
  });

  it('fails to start with NFT_FAILED naming NET_ADMIN when nft is refused', async () => {
    const run = nftRunner([
      'sh',
      '-c',
      'cat >/dev/null; echo "Error: Could not process rule: Operation not permitted" >&2; exit 1',
    ]);
    await assert.rejects(NftProxy.start({ log: createLogger({}, 'error', () => {}), run }), (error) => {
      assert.ok(error instanceof MetallbError);
      assert.equal(error.code, 'NFT_FAILED');
      assert.match(error.message, /NET_ADMIN/);
      assert.match(error.message, /Operation not permitted/);
      return true;
    });
  });
});
