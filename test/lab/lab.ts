/**
 * The local lab: what a newcomer runs first (`npm run lab`). A real etcd + kube-apiserver, our
 * manifests, the controller and a speaker per node running as their ServiceAccounts, three node
 * namespaces with a NodePort backend each (it says which node answered), a client, and an FRR router;
 * the ConfigMap has a layer-2 pool and a BGP pool. Then the seed-001 demo Service and a BGP twin,
 * and what a user would check: `kubectl get svc`, who announces what, and curls from the client.
 *   npm run lab                bring it up, show the demo, keep running until Ctrl-C
 *   npm run lab -- --once      bring it up, show the demo, tear everything down
 *   npm run lab -- down        stop a lab running in another terminal (and anything it left behind)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { waitFor } from '../harness/wait.ts';
import { BOTH_MODES_CONFIG, BOTH_MODES_ROUTER, ClusterLab } from './cluster-lab.ts';

const { values, positionals } = parseArgs({
  options: { once: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const STATE_DIR = join(process.env['METALLB_TS_CACHE'] ?? join(homedir(), '.cache', 'metallb-ts'));
const STATE_FILE = join(STATE_DIR, 'lab.json');
const NODES = ['node1', 'node2', 'node3'];
const step = (text: string): void => console.log(`\n==> ${text}`);

/** The seed-001 Service (port 8080 -> targetPort 80), with a NodePort the lab's backends listen on. */
const demoService = (name: string, nodePort: number, annotations: Record<string, string> = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'LoadBalancer',
      selector: { example: 'exampleforservice' },
      ports: [{ protocol: 'TCP', port: 8080, targetPort: 80, nodePort }],
    },
  });

if (positionals[0] === 'down') {
  labDown();
} else {
  await labUp();
}

async function labUp(): Promise<void> {
  let lab: ClusterLab | undefined;
  const stopping = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    const started = performance.now();
    lab = await ClusterLab.start({
      config: BOTH_MODES_CONFIG,
      routerConfig: BOTH_MODES_ROUTER,
      nodeProxy: true,
      progress: step,
    });
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(STATE_FILE, JSON.stringify({ pid: process.pid, prefix: lab.network.prefix }));
    console.log(`    up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    step('the ConfigMap metallb-system/config');
    console.log(indent(BOTH_MODES_CONFIG));

    step('kubectl apply: exampleloadbalancerservice (seed 001, layer 2) and examplebgpservice (pool "bgp")');
    await lab.kubectl(['apply', '-f', '-'], demoService('exampleloadbalancerservice', 30080));
    await lab.kubectl(
      ['apply', '-f', '-'],
      demoService('examplebgpservice', 30081, { 'metallb.universe.tf/address-pool': 'bgp' }),
    );
    // No kubelet or endpoint-slice controller here: the lab writes the slices they would.
    for (const name of ['exampleloadbalancerservice', 'examplebgpservice'])
      await lab.setEndpoints(name, NODES);
    const ipOf = async (name: string): Promise<string> =>
      waitFor(
        async () =>
          (await lab!.kubectl(['get', 'svc', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])) ||
          undefined,
        { description: `${name} to get an EXTERNAL-IP` },
      );
    const layer2Ip = await ipOf('exampleloadbalancerservice');
    const bgpIp = await ipOf('examplebgpservice');

    step('kubectl get svc');
    process.stdout.write(await lab.kubectl(['get', 'svc']));

    step('who announces what');
    await waitFor(() => lab!.curlFromClient(layer2Ip, 8080), {
      description: `the first answer from ${layer2Ip}:8080`,
    });
    console.log(
      `    ${layer2Ip} (layer 2): the client's neighbour entry -> ${lab.clientNeighbour(layer2Ip)}`,
    );
    const announcing = await lab.kubectl([
      'get',
      'events',
      '--field-selector',
      'reason=nodeAssigned',
      '-o',
      'custom-columns=SERVICE:.involvedObject.name,MESSAGE:.message',
    ]);
    console.log(indent(announcing));
    await waitFor(async () => (await lab!.curlFromClient(bgpIp, 8080)) !== undefined, {
      description: `the first answer from ${bgpIp}:8080`,
    });
    console.log(`    ${bgpIp} (BGP): the router's route (ECMP over every node)`);
    console.log(indent(await lab.router.vtysh(`show ip route ${bgpIp}/32`)));

    for (const [mode, ip] of [
      ['layer 2: every connection goes to the owner node', layer2Ip],
      ['BGP, from behind the router: the router spreads connections over the nodes', bgpIp],
    ] as const) {
      step(`client$ for i in $(seq 9); do curl http://${ip}:8080/; done     (${mode})`);
      for (let i = 0; i < 9; i++) {
        const answer = await lab.curlFromClient(ip, 8080);
        console.log(
          answer
            ? `    You've hit ${answer.node} (NodePort ${answer.nodePort}/${answer.protocol})`
            : '    (no answer)',
        );
      }
    }
    console.log(
      `    lab start -> both Services answered: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    if (values.once) {
      step('tearing down (--once)');
    } else {
      const { client, router } = lab.network;
      step('the lab is running. Poke at it from another shell:');
      console.log(`    export KUBECONFIG=${lab.api.kubeconfigPath}`);
      console.log('    kubectl get svc -A; kubectl describe svc exampleloadbalancerservice');
      console.log(`    ip netns exec ${client.ns} curl http://${layer2Ip}:8080/`);
      console.log(`    ip netns exec ${client.ns} curl http://${bgpIp}:8080/`);
      console.log(`    vtysh --vty_socket ${lab.router.dir} -c 'show bgp summary'   (router: ${router?.ns})`);
      console.log(`    ip netns exec ${lab.nodes[0]!.ns} nft list table inet metallb_ts`);
      console.log(`    logs: ${lab.api.dir}`);
      console.log(
        '  Ctrl-C here (or `npm run lab -- down` elsewhere) stops everything and removes all lab state.',
      );
      await stopping;
    }
  } catch (error) {
    console.error(`lab failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await lab?.stop();
    rmSync(STATE_FILE, { force: true });
    console.log('lab stopped; nothing left behind');
  }
}

/**
 * Stops the lab another terminal runs (it tears itself down on SIGTERM), then removes namespaces a
 * lab killed without warning may have left: only those with its recorded prefix.
 */
function labDown(): void {
  let state: { pid: number; prefix: string };
  try {
    state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { pid: number; prefix: string };
  } catch {
    console.log('no lab is running');
    return;
  }
  try {
    process.kill(state.pid, 'SIGTERM');
    console.log(`asked the lab (pid ${state.pid}) to stop`);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && isAlive(state.pid)) execFileSync('sleep', ['0.2']);
  } catch {
    // Not running any more.
  }
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(`${state.prefix}-`));
  for (const ns of left) execFileSync('ip', ['netns', 'del', ns]);
  if (left.length > 0) console.log(`removed namespaces left behind: ${left.join(', ')}`);
  rmSync(STATE_FILE, { force: true });
  console.log('lab down');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
