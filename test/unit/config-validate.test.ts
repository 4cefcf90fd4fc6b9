import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configValidate } from '../../bin/commands/config-validate.ts';
import { formatPoolRange, poolSize } from '../../shared/config/summary.ts';
import { parsePoolAddresses } from '../../shared/ip/range.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metallb-ts-config-validate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the command on `text` written to a temp file; returns exit code, stdout and stderr lines. */
async function validate(name: string, text: string) {
  const file = join(dir, name);
  await writeFile(file, text);
  const out: string[] = [];
  const err: string[] = [];
  const code = await configValidate(
    [file],
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { file, code, out, err };
}

describe('metallb-ts config validate', () => {
  it('accepts the seed config and prints its pool', async () => {
    const { file, code, out, err } = await validate(
      'seed.yaml',
      'address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.1.251-192.168.1.253\n',
    );
    assert.equal(code, 0);
    assert.deepEqual(out, [
      `${file}: valid`,
      'pool "default": layer2, 3 addresses: 192.168.1.251-192.168.1.253',
      'peers: 0',
      'bfd-profiles: 0',
    ]);
    assert.deepEqual(err, []);
  });

  it('accepts a ConfigMap manifest and counts an IPv6 /64 exactly', async () => {
    const { file, code, out, err } = await validate(
      'configmap.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata:
  namespace: metallb-system
  name: config
data:
  config: |
    peers:
    - {peer-address: 10.0.0.1, peer-asn: 64501, my-asn: 64500}
    - {peer-address: 10.0.0.2, peer-asn: 64501, my-asn: 64500}
    address-pools:
    - name: public
      protocol: bgp
      auto-assign: false
      avoid-buggy-ips: true
      addresses: [198.51.100.0/24, "2001:db8:1::/64", 203.0.113.1-203.0.113.5]
    - name: single
      protocol: layer2
      addresses: [192.0.2.9/32]
`,
    );
    assert.equal(code, 0);
    assert.deepEqual(out, [
      `${file}: valid`,
      'pool "public": bgp, 18446744073709551877 addresses: 198.51.100.0/24, 2001:db8:1::/64, ' +
        '203.0.113.1-203.0.113.5 (auto-assign off, avoid-buggy-ips)',
      'pool "single": layer2, 1 address: 192.0.2.9/32',
      'peers: 2',
      'bfd-profiles: 0',
    ]);
    assert.deepEqual(err, []);
  });

  it('prints every problem with its location and exits 1', async () => {
    const { file, code, out, err } = await validate(
      'broken.yaml',
      `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.1.0/24
- name: default
  protocol: layer2
  addresses:
  - 192.168.1.300-192.168.1.310
  - 192.168.1.10-192.168.1.20
peers:
- peer-address: 10.0.0.1
  peer-asn: 64500
  my-asn: 64500
  ebgp-multihop: true
`,
    );
    assert.equal(code, 1);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      `${file}: address-pools[1].addresses[0]: "192.168.1.300-192.168.1.310": invalid IPv4 address 192.168.1.300`,
      `${file}: address-pools[1].addresses[1]: "192.168.1.10-192.168.1.20" overlaps address-pools[0].addresses[0] "192.168.1.0/24"`,
      `${file}: address-pools[1].name: duplicate pool name "default", already used by address-pools[0]`,
      `${file}: peers[0].ebgp-multihop: ebgp-multihop is for eBGP, but peer-asn equals my-asn`,
      `${file}: invalid, 4 problems`,
    ]);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const { file, code, err } = await validate('syntax.yaml', 'peers: []\naddress-pools:\n\t- name: a\n');
    assert.equal(code, 1);
    assert.deepEqual(err, [
      `${file}: line 3, column 1: Tabs are not allowed as indentation`,
      `${file}: invalid, 1 problem`,
    ]);
  });

  it('exits 1 when the file cannot be read', async () => {
    const missing = join(dir, 'missing.yaml');
    const err: string[] = [];
    const code = await configValidate([missing], assert.fail, (line) => err.push(line));
    assert.equal(code, 1);
    assert.equal(err.length, 1);
    assert.match(
      err[0] ?? '',
      new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: ENOENT`),
    );
  });

  for (const args of [[], ['a.yaml', 'b.yaml']]) {
    it(`exits 2 with usage for ${JSON.stringify(args)}`, async () => {
      const err: string[] = [];
      assert.equal(await configValidate(args, assert.fail, (line) => err.push(line)), 2);
      assert.match(err.join('\n'), /^usage: metallb-ts config validate FILE/);
    });
  }

  it('prints usage on --help and exits 0', async () => {
    const out: string[] = [];
    assert.equal(await configValidate(['--help'], (line) => out.push(line), assert.fail), 0);
    assert.match(out.join('\n'), /^usage: metallb-ts config validate FILE/);
  });
});

describe('config summary', () => {
  const ranges: [string, string][] = [
    ['10.0.0.0/24', '10.0.0.0/24'],
    ['10.0.0.0-10.0.0.255', '10.0.0.0/24'], // a range that is exactly one block reads as a CIDR
    ['10.0.0.1-10.0.0.4', '10.0.0.1-10.0.0.4'],
    ['10.0.0.9/32', '10.0.0.9/32'],
    ['2001:db8::/64', '2001:db8::/64'],
    ['::/0', '::/0'],
  ];
  for (const [text, expected] of ranges) {
    it(`formats ${text} as ${expected}`, () =>
      assert.equal(formatPoolRange(parsePoolAddresses(text)), expected));
  }

  it('sizes a pool from its bounds', () => {
    const pool = {
      name: 'p',
      protocol: 'layer2',
      ranges: ['::/0', '0.0.0.0/0'].map(parsePoolAddresses),
      autoAssign: true,
      avoidBuggyIps: false,
      bgpAdvertisements: [],
    } as const;
    assert.equal(poolSize(pool), (1n << 128n) + (1n << 32n));
  });
});
