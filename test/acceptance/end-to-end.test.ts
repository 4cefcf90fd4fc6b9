/**
 * End to end, the way a user would check it: a client reaches Services through their EXTERNAL-IPs.
 * Real kube-apiserver, controller and three speakers run with --node-proxy; each node runs the
 * NodePort backend stand-in (it answers with its node's name), FRR routes the BGP pool, and the
 * client sits on the lab segment (layer 2) and behind the router (BGP). Every assertion is an
 * answer the client got, or a table the kernel holds.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { announcerOrder } from '../../speaker/layer2/election.ts';
import { useApiServer } from '../harness/apiserver.ts';
import { waitFor } from '../harness/wait.ts';
import { BOTH_MODES_CONFIG, BOTH_MODES_ROUTER, ClusterLab, type BackendAnswer } from '../lab/cluster-lab.ts';

const ALL = ['node1', 'node2', 'node3'];
const BGP_POOL = { 'metallb.universe.tf/address-pool': 'bgp' };
let lab: ClusterLab;

/** Answers to `count` new connections, in order (undefined where nothing answered). */
async function answers(ip: string, port: number, count: number): Promise<(BackendAnswer | undefined)[]> {
  const all: (BackendAnswer | undefined)[] = [];
  for (let i = 0; i < count; i++) all.push(await lab.curlFromClient(ip, port));
  return all;
}

describe('end to end through the node proxy', { concurrency: false }, () => {
  const api = useApiServer();
  before(async () => {
    lab = await ClusterLab.start({
      api: api(),
      config: BOTH_MODES_CONFIG,
      routerConfig: BOTH_MODES_ROUTER,
      nodeProxy: true,
    });
  });
  after(async () => {
    await lab?.stop();
  });

  it('layer 2: the owner node answers EXTERNAL-IP:8080, and after kill -9 the next one does', async (t: TestContext) => {
    const [ip] = await lab.createService('web', { ports: [{ port: 8080 }], endpointNodes: ALL });
    const [owner, successor] = announcerOrder(ip!, ALL);
    const [nodePort] = await lab.nodePorts('web');
    const first = await waitFor(() => lab.curlFromClient(ip!, 8080), { description: `curl ${ip}:8080` });
    assert.deepEqual(first, { node: owner, nodePort, protocol: 'TCP' });
    assert.equal(lab.clientNeighbour(ip!), owner, 'the client reached it through the owner it resolved');

    const killedAt = performance.now();
    process.kill(lab.speakers.get(owner!)!.daemon.pid, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const answer = await lab.curlFromClient(ip!, 8080, 0.3);
        return answer && answer.node !== owner ? answer : undefined;
      },
      {
        description: `new connections to ${ip}:8080 through ${successor}`,
        timeoutMs: 10_000,
        intervalMs: 10,
      },
    );
    t.diagnostic(`kill -9 -> first new connection answered: ${(performance.now() - killedAt).toFixed(0)} ms`);
    assert.equal(after.node, successor);
    await lab.startNodeSpeaker(owner!);
    await waitFor(async () => (await lab.curlFromClient(ip!, 8080))?.node === owner, {
      description: `${owner} to serve ${ip} again`,
    });
  });

  it('layer 2 over IPv6: a dual-stack Service answers on both addresses', async () => {
    const ips = await lab.createService('dual', {
      ports: [{ port: 8080 }],
      endpointNodes: ALL,
      dualStack: true,
    });
    assert.equal(ips.length, 2, `two addresses: ${ips.join(', ')}`);
    for (const ip of ips) {
      const answer = await waitFor(() => lab.curlFromClient(ip, 8080), { description: `curl ${ip}` });
      assert.equal(answer.node, announcerOrder(ip, ALL)[0]);
    }
  });

  it('BGP: the client behind the router gets answers from all three nodes, and from the rest when one leaves', async () => {
    const [ip] = await lab.createService('spread', {
      ports: [{ port: 80 }],
      endpointNodes: ALL,
      annotations: BGP_POOL,
    });
    assert.match(ip!, /^10\.100\.0\./);
    await waitFor(async () => (await lab.curlFromClient(ip!, 80)) !== undefined, {
      description: `curl ${ip}`,
    });
    const before = await answers(ip!, 80, 30);
    assert.ok(before.every(Boolean), 'every connection answered');
    assert.deepEqual([...new Set(before.map((a) => a!.node))].sort(), ALL, 'ECMP over the three nodes');

    // node3 leaves gracefully: Cease, the router drops its path, its proxy table goes.
    await lab.speakers.get('node3')!.daemon.stop();
    assert.equal(lab.hasProxyTable('node3'), false, 'a stopped speaker removes its table');
    await waitFor(
      async () => {
        const route = await lab.router.vtyshJson<{ paths?: unknown[] }>(
          `show bgp ipv4 unicast ${ip}/32 json`,
        );
        return route.paths?.length === 2;
      },
      { description: `two paths to ${ip} left` },
    );
    const during = await answers(ip!, 80, 20);
    assert.ok(during.every(Boolean), 'still reachable');
    assert.deepEqual([...new Set(during.map((a) => a!.node))].sort(), ['node1', 'node2']);
    await lab.startNodeSpeaker('node3');
  });

  it('BGP over IPv6: the router spreads a dual-stack Service too', async () => {
    const ips = await lab.createService('spread6', {
      ports: [{ port: 80 }],
      endpointNodes: ALL,
      annotations: BGP_POOL,
      dualStack: true,
    });
    const ip6 = ips.find((ip) => ip.includes(':'));
    assert.ok(ip6, `an IPv6 address among ${ips.join(', ')}`);
    await waitFor(async () => (await lab.curlFromClient(ip6, 80)) !== undefined, {
      description: `curl [${ip6}]`,
    });
    const seen = await answers(ip6, 80, 30);
    assert.ok(seen.every(Boolean), 'every connection answered');
    assert.deepEqual([...new Set(seen.map((a) => a!.node))].sort(), ALL);
  });

  it('UDP works, and a Service with two ports answers on both, each through its own NodePort', async () => {
    const [udpIp] = await lab.createService('dns', {
      ports: [{ port: 53, protocol: 'UDP' }],
      endpointNodes: ALL,
    });
    const [udpNodePort] = await lab.nodePorts('dns');
    const udp = await waitFor(() => lab.udpFromClient(udpIp!, 53), { description: `UDP ${udpIp}:53` });
    assert.deepEqual(udp, { node: announcerOrder(udpIp!, ALL)[0], nodePort: udpNodePort, protocol: 'UDP' });

    const [ip] = await lab.createService('two', { ports: [{ port: 80 }, { port: 443 }], endpointNodes: ALL });
    const nodePorts = await lab.nodePorts('two');
    const owner = announcerOrder(ip!, ALL)[0];
    for (const [index, port] of [80, 443].entries()) {
      const answer = await waitFor(() => lab.curlFromClient(ip!, port), {
        description: `curl ${ip}:${port}`,
      });
      assert.deepEqual(answer, { node: owner, nodePort: nodePorts[index], protocol: 'TCP' });
    }
    // Ports the Service does not have are not forwarded.
    assert.equal(await lab.curlFromClient(ip!, 8443, 0.5), undefined);
  });

  it('keeps the proxy table on the nodes that serve, and empties it when the Service goes', async () => {
    const [ip] = await lab.createService('brief', { ports: [{ port: 8080 }], endpointNodes: ALL });
    const owner = announcerOrder(ip!, ALL)[0]!;
    await waitFor(() => lab.curlFromClient(ip!, 8080), { description: `curl ${ip}` });
    const ruleset = lab.proxyRules(owner);
    assert.ok(ruleset.includes(ip!), `the owner's table forwards ${ip}:\n${ruleset}`);
    for (const other of ALL.filter((n) => n !== owner)) {
      assert.ok(!lab.proxyRules(other).includes(ip!), `${other} does not serve ${ip}`);
    }
    await lab.core.deleteNamespacedService({ name: 'brief', namespace: 'default' });
    await waitFor(() => !lab.proxyRules(owner).includes(ip!), {
      description: `${owner} to stop forwarding ${ip}`,
    });
    assert.equal(await lab.curlFromClient(ip!, 8080, 0.5), undefined);
  });
});
