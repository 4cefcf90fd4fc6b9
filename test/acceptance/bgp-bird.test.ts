/**
 * The same speakers against a second BGP implementation, BIRD 2: sessions (one of them TCP MD5
 * signed, chosen by peer node-selectors), ECMP paths with communities and large communities,
 * withdrawal. Asserted from `birdc show route all` and the
 * router's kernel table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useApiServer } from '../harness/apiserver.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterLab } from '../lab/cluster-lab.ts';
import { birdRouterConfig } from '../lab/bird.ts';

// node3 reaches the router through its own peer entry, with a TCP MD5 password: the same router,
// picked by node-selectors, as a site would do for one rack.
const MD5_PASSWORD = 'rack3-md5-key';
const CONFIG = `peers:
- peer-address: 10.99.0.1
  peer-asn: 64501
  my-asn: 64500
  hold-time: 3s
  node-selectors:
  - match-expressions:
    - {key: kubernetes.io/hostname, operator: NotIn, values: [node3]}
- peer-address: 10.99.0.1
  peer-asn: 64501
  my-asn: 64500
  hold-time: 3s
  password: ${MD5_PASSWORD}
  node-selectors:
  - match-labels:
      kubernetes.io/hostname: node3
address-pools:
- name: lab
  protocol: layer2
  addresses: [10.99.0.200-10.99.0.250]
- name: bgp
  protocol: bgp
  addresses: [10.98.0.0/24, "fd00:98::/120"]
  bgp-advertisements:
  - communities: [64500:100, "large:64500:1:2"]
`;

let lab: ClusterLab;

async function viaHops(prefix: string): Promise<string[]> {
  const output = await lab.bird.birdc(`show route ${prefix} all`);
  return [...output.matchAll(/via (\S+) on eth0/g)].map((m) => m[1]!).sort();
}

describe('BGP with BIRD 2', { concurrency: false }, () => {
  const api = useApiServer();
  before(async () => {
    lab = await ClusterLab.start({
      api: api(),
      config: CONFIG,
      birdConfig: birdRouterConfig({
        asn: 64501,
        routerId: '10.99.0.1',
        speakers: [
          { name: 'node1', address: '10.99.0.11', asn: 64500 },
          { name: 'node2', address: '10.99.0.12', asn: 64500 },
          { name: 'node3', address: '10.99.0.13', asn: 64500, password: MD5_PASSWORD },
        ],
      }),
    });
  });
  after(async () => {
    await lab?.stop();
  });

  // BIRD drops node3's segments unless they carry the MD5 signature of its password, so node3's
  // session coming up proves the config's password reached the kernel through our addon.
  it('establishes a session from every node, node3 signed with TCP MD5 from its own peer entry', async () => {
    await waitFor(
      async () => ((await lab.bird.birdc('show protocols')).match(/Established/g) ?? []).length === 3,
      {
        description: 'three Established BGP protocols in BIRD',
        timeoutMs: 15_000,
      },
    );
  });

  it('holds one path per node with the communities, installs ECMP, and withdraws on delete', async () => {
    const ips = await lab.createService('web', {
      annotations: { 'metallb.universe.tf/address-pool': 'bgp' },
      dualStack: true,
    });
    const v4 = ips.find((ip) => !ip.includes(':'))!;
    const v6 = ips.find((ip) => ip.includes(':'))!;
    await waitFor(async () => (await viaHops(`${v4}/32`)).length === 3, {
      description: `three paths for ${v4}`,
    });
    assert.deepEqual(await viaHops(`${v4}/32`), ['10.99.0.11', '10.99.0.12', '10.99.0.13']);
    const text = await lab.bird.birdc(`show route ${v4}/32 all`);
    assert.equal((text.match(/BGP\.community: \(64500,100\)/g) ?? []).length, 3, text);
    assert.equal((text.match(/BGP\.large_community: \(64500, 1, 2\)/g) ?? []).length, 3, text);
    await waitFor(async () => (await viaHops(`${v6}/128`)).length === 3, {
      description: `three paths for ${v6}`,
    });
    const kernel = lab.network.exec(lab.network.router!.ns, 'ip', ['route', 'show', `${v4}/32`]);
    for (const hop of ['10.99.0.11', '10.99.0.12', '10.99.0.13'])
      assert.ok(kernel.includes(`nexthop via ${hop} `), kernel);
    await lab.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    await waitFor(async () => (await viaHops(`${v4}/32`)).length === 0, { description: `${v4} withdrawn` });
  });
});
