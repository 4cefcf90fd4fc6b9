/**
 * Layer 2 end to end on real components: kube-apiserver, the controller, three speakers each in
 * its own network namespace as its own Node, a client namespace on the same bridge. Assertions are
 * what the client sees: who answers ARP/NDP, its neighbour table, frames captured by tcpdump.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { announcerOrder } from '../../speaker/layer2/election.ts';
import { useApiServer } from '../harness/apiserver.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterLab } from '../lab/cluster-lab.ts';

let lab: ClusterLab;
const ALL = ['node1', 'node2', 'node3'];

describe('layer 2', { concurrency: false }, () => {
  const api = useApiServer();
  before(async () => {
    lab = await ClusterLab.start({ api: api() });
  });
  after(async () => {
    await lab?.stop();
  });

  it('answers ARP from the elected node only, and says so in an Event', async () => {
    const [ip] = await lab.createService('web');
    const owner = announcerOrder(ip!, ALL)[0]!;
    const lines = await lab.capture(300, () => {
      assert.deepEqual(lab.arpAnswerers(ip!), [owner, owner, owner]);
    });
    const replies = lines.filter((l) => l.includes(`${ip} is-at`));
    assert.ok(replies.length >= 3, `tcpdump saw the replies:\n${lines.join('\n')}`);
    for (const line of replies)
      assert.ok(line.includes(lab.nodeByName(owner).mac), `a reply not from ${owner}: ${line}`);
    const events = await lab.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=web',
    });
    const assigned = events.items.filter((e) => e.reason === 'nodeAssigned').map((e) => e.message);
    assert.deepEqual(assigned, [`announcing from node "${owner}" with protocol "layer2"`]);
    assert.equal(
      await lab.speakers
        .get(owner)!
        .metric(
          `metallb_speaker_announced{service="default/web",protocol="layer2",node="${owner}",ip="${ip}"}`,
        ),
      1,
    );
  });

  it('without --node-proxy creates no nftables table, and still announces', async () => {
    const [ip] = await lab.createService('unproxied');
    assert.deepEqual(lab.arpAnswerers(ip!, 1), [announcerOrder(ip!, ALL)[0]]);
    for (const node of ALL) assert.ok(!lab.hasProxyTable(node), node);
  });

  it('counts requests, responses and gratuitous packets on the owner', async () => {
    const [ip] = await lab.createService('counted', { ip: '10.99.0.235' });
    const owner = announcerOrder(ip!, ALL)[0]!;
    assert.deepEqual(lab.arpAnswerers(ip!, 3), [owner, owner, owner]);
    const speaker = lab.speakers.get(owner)!;
    const value = async (name: string) => (await speaker.metric(`${name}{ip="${ip}"}`)) ?? 0;
    assert.ok((await value('metallb_layer2_requests_received')) >= 3);
    assert.ok((await value('metallb_layer2_responses_sent')) >= 3);
    assert.ok((await value('metallb_layer2_gratuitous_sent')) >= 2);
    for (const other of ALL.filter((n) => n !== owner)) {
      assert.equal(
        await lab.speakers.get(other)!.metric(`metallb_layer2_responses_sent{ip="${ip}"}`),
        undefined,
      );
    }
  });

  it('runs the speakers with only the permissions of their ServiceAccount', async () => {
    const kubeconfig = join(lab.api.dir, 'speaker-host.kubeconfig');
    lab.api.writeKubeconfig(kubeconfig, lab.speakerToken, 'speaker');
    for (const forbidden of [
      ['get', 'secrets', '-n', 'metallb-system'],
      ['get', 'pods', '-A'],
      ['get', 'configmap', 'kube-root-ca.crt', '-n', 'metallb-system'],
      ['patch', 'svc', 'web', '--subresource=status', '--type=merge', '-p', '{"status":{}}'],
    ]) {
      const result = await lab.api.kubectl(forbidden, { kubeconfig });
      assert.notEqual(result.code, 0, `kubectl ${forbidden.join(' ')} should be forbidden`);
      assert.match(result.stderr, /forbidden/i);
    }
    for (const speaker of lab.speakers.values()) {
      assert.doesNotMatch(
        speaker.daemon.logTail(10_000),
        /HTTP 403|forbidden/i,
        `${speaker.host.name} hit a permission it lacks`,
      );
    }
  });

  it('answers Neighbor Solicitations for an IPv6 address from the elected node', async () => {
    const ips = await lab.createService('web6', { dualStack: true });
    const ip6 = ips.find((ip) => ip.includes(':'))!;
    const owner = announcerOrder(ip6, ALL)[0]!;
    const output = lab.network.exec(lab.network.client.ns, 'ndisc6', ['-1', '-r', '3', ip6, 'eth0']);
    assert.match(output, new RegExp(`Target link-layer address: ${lab.nodeByName(owner).mac.toUpperCase()}`));
    lab.resolveFromClient(ip6);
    assert.equal(lab.clientNeighbour(ip6), owner);
  });

  it('moves an address to the next node within a second of kill -9, and the client follows', async () => {
    const [ip] = await lab.createService('failover', { ip: '10.99.0.230' });
    const [owner, successor] = announcerOrder(ip!, lab.alive());
    lab.resolveFromClient(ip!);
    assert.equal(lab.clientNeighbour(ip!), owner);
    const killedAt = Date.now();
    process.kill(lab.speakers.get(owner!)!.daemon.pid, 'SIGKILL');
    await waitFor(() => lab.clientNeighbour(ip!) === successor, {
      description: `the client's neighbour entry for ${ip} to move to ${successor}`,
      timeoutMs: 5000,
      intervalMs: 20,
    });
    console.log(`# kill -9 failover: client neighbour entry moved after ${Date.now() - killedAt} ms`);
    assert.deepEqual(lab.arpAnswerers(ip!, 2), [successor, successor]);
    await lab.startNodeSpeaker(owner!);
    await waitFor(() => lab.arpAnswerers(ip!, 1)[0] === owner, {
      description: `${owner} to take its address back`,
    });
  });

  it('hands over at once on SIGTERM', async () => {
    const [ip] = await lab.createService('graceful', { ip: '10.99.0.231' });
    const [owner, successor] = announcerOrder(ip!, lab.alive());
    lab.resolveFromClient(ip!);
    assert.equal(lab.clientNeighbour(ip!), owner);
    const stoppedAt = Date.now();
    process.kill(lab.speakers.get(owner!)!.daemon.pid, 'SIGTERM');
    await waitFor(() => lab.clientNeighbour(ip!) === successor, {
      description: `the client's neighbour entry for ${ip} to move to ${successor}`,
      timeoutMs: 2000,
      intervalMs: 10,
    });
    console.log(`# SIGTERM handover: client neighbour entry moved after ${Date.now() - stoppedAt} ms`);
    await lab.speakers.get(owner!)!.daemon.exited;
    await lab.startNodeSpeaker(owner!);
  });

  it('with traffic policy Local, announces from a node with an endpoint and follows the endpoints', async () => {
    const [ip] = await lab.createService('local', { trafficPolicy: 'Local', endpointNodes: ['node2'] });
    await waitFor(() => lab.arpAnswerers(ip!, 1)[0] === 'node2', {
      description: 'node2 (the endpoint node) to answer',
    });
    await lab.setEndpoints('local', ['node3']);
    await waitFor(() => lab.arpAnswerers(ip!, 1)[0] === 'node3', {
      description: 'node3 to answer after the endpoint moved',
    });
    await lab.setEndpoints('local', []);
    await waitFor(() => lab.arpAnswerers(ip!, 1).length === 0, {
      description: 'nobody to answer without endpoints',
    });
  });

  it('never announces from a node labelled exclude-from-external-load-balancers', async () => {
    const [ip] = await lab.createService('excluded', { ip: '10.99.0.232' });
    const owner = announcerOrder(ip!, lab.alive())[0]!;
    await lab.kubectl(['label', 'node', owner, 'node.kubernetes.io/exclude-from-external-load-balancers=']);
    try {
      const next = announcerOrder(
        ip!,
        lab.alive().filter((n) => n !== owner),
      )[0];
      await waitFor(() => lab.arpAnswerers(ip!, 1)[0] === next, {
        description: `${next} to answer instead of ${owner}`,
      });
      assert.deepEqual(lab.arpAnswerers(ip!, 3), [next, next, next]);
    } finally {
      await lab.kubectl(['label', 'node', owner, 'node.kubernetes.io/exclude-from-external-load-balancers-']);
    }
  });

  it('announces a shared address from one node for both Services', async () => {
    const shared = { 'metallb.universe.tf/allow-shared-ip': 'pair' };
    const [ip] = await lab.createService('pair-http', { ip: '10.99.0.233', annotations: shared, port: 80 });
    await lab.createService('pair-https', {
      ip: '10.99.0.233',
      annotations: shared,
      port: 443,
      endpointNodes: ['node3'],
    });
    const owner = announcerOrder(ip!, lab.alive())[0]!;
    assert.deepEqual(lab.arpAnswerers(ip!, 3), [owner, owner, owner]);
    for (const service of ['pair-http', 'pair-https']) {
      const series = `metallb_speaker_announced{service="default/${service}",protocol="layer2",node="${owner}",ip="${ip}"}`;
      await waitFor(async () => (await lab.speakers.get(owner)!.metric(series)) === 1, {
        description: series,
      });
    }
  });

  it('drops membership packets without the right key, and nothing changes', async () => {
    const target = lab.speakers.get('node1')!;
    const before = (await target.metric('metallb_memberlist_packets_dropped_total{reason="bad_mac"}')) ?? 0;
    // A forged packet from the client: random bytes are as good as a wrong key.
    lab.network.exec(lab.network.client.ns, 'bash', [
      '-c',
      `head -c 120 /dev/urandom > /dev/udp/${lab.nodeByName('node1').ipv4}/7946`,
    ]);
    lab.network.exec(lab.network.client.ns, 'bash', [
      '-c',
      `head -c 120 /dev/urandom > /dev/udp/${lab.nodeByName('node1').ipv4}/7946`,
    ]);
    await waitFor(
      async () => {
        const text = await target.metrics();
        const dropped = [
          ...text.matchAll(/^metallb_memberlist_packets_dropped_total\{reason="(\w+)"\} (\d+)$/gm),
        ];
        return dropped.reduce((sum, m) => sum + Number(m[2]), 0) >= before + 2;
      },
      { description: 'node1 to count the forged packets as dropped' },
    );
    assert.equal(await target.metric('metallb_memberlist_members{state="alive"}'), 3);
  });

  it('keeps answering while the apiserver is down', async () => {
    const [ip] = await lab.createService('outage', { ip: '10.99.0.234' });
    const owner = announcerOrder(ip!, lab.alive())[0]!;
    await lab.api.stopApiServerOnly();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.deepEqual(lab.arpAnswerers(ip!, 2), [owner, owner]);
    } finally {
      await lab.api.restartApiServer();
    }
    assert.deepEqual(lab.arpAnswerers(ip!, 1), [owner]);
  });
});
