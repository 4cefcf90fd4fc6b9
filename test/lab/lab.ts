/**
 * The local lab: what a newcomer runs first (`npm run lab`). A real etcd + kube-apiserver, our
 * manifests applied, the controller running as its own ServiceAccount, the seed-001 ConfigMap, and
 * the demo Services, then what a user would check: `kubectl get svc` with EXTERNAL-IP filled in.
 *   npm run lab              bring it up, show the demo, keep running until Ctrl-C
 *   npm run lab -- --once    bring it up, show the demo, tear everything down
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '../harness/apiserver.ts';
import { startController, type ControllerProcess } from '../harness/controller-process.ts';
import { waitFor } from '../harness/wait.ts';

const REPO = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
const step = (text: string): void => console.log(`\n==> ${text}`);

const DEMO_SERVICE = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'LoadBalancer',
      selector: { example: 'exampleforservice' },
      ports: [{ protocol: 'TCP', port: 8080, targetPort: 80 }],
    },
  });

async function kubectl(api: ApiServer, args: string[], input?: string): Promise<string> {
  return api.kubectlOk(args, input === undefined ? {} : { input });
}

let api: ApiServer | undefined;
let controller: ControllerProcess | undefined;
async function teardown(): Promise<void> {
  await controller?.daemon.stop();
  await api?.stop();
}

try {
  step('starting etcd and kube-apiserver on loopback');
  api = await startApiServer();
  console.log(`    apiserver ${api.url}`);

  step('kubectl apply -f manifests/namespace.yaml -f manifests/metallb.yaml');
  process.stdout.write(
    await kubectl(api, [
      'apply',
      '-f',
      join(REPO, 'manifests/namespace.yaml'),
      '-f',
      join(REPO, 'manifests/metallb.yaml'),
    ]),
  );

  step('kubectl apply -f manifests/example-config.yaml   (the seed-001 ConfigMap)');
  process.stdout.write(await kubectl(api, ['apply', '-f', join(REPO, 'manifests/example-config.yaml')]));

  step(
    'starting the controller as ServiceAccount metallb-system/controller (no kubelet here: it runs as a process)',
  );
  const token = (
    await kubectl(api, ['create', 'token', 'controller', '-n', 'metallb-system', '--duration=24h'])
  ).trim();
  const controllerKubeconfig = join(api.dir, 'controller.kubeconfig');
  api.writeKubeconfig(controllerKubeconfig, token, 'system:serviceaccount:metallb-system:controller');
  controller = await startController(controllerKubeconfig, join(api.dir, 'controller.log'), [
    '--log-level=info',
  ]);
  await waitFor(() => controller!.ready(), {
    description: 'the controller to become ready',
    timeoutMs: 30_000,
  });
  console.log(
    `    controller pid ${controller.daemon.pid}, metrics http://127.0.0.1:${controller.port}/metrics`,
  );

  step(
    'kubectl apply: exampleloadbalancerservice and three more LoadBalancer Services (the pool has 3 addresses)',
  );
  const names = ['exampleloadbalancerservice', 'second', 'third', 'fourth'];
  for (const name of names) await kubectl(api, ['apply', '-f', '-'], DEMO_SERVICE(name));
  await waitFor(
    async () =>
      (
        await kubectl(api!, ['get', 'svc', '-o', 'jsonpath={.items[*].status.loadBalancer.ingress[*].ip}'])
      ).split(' ').length >= 3,
    { description: 'three Services to get an address' },
  );

  step('kubectl get svc');
  process.stdout.write(await kubectl(api, ['get', 'svc']));
  step('kubectl describe svc fourth   (pool exhausted: stays <pending>, says why)');
  const described = await kubectl(api, ['describe', 'svc', 'fourth']);
  process.stdout.write(described.slice(described.indexOf('Events:')));

  step('kubectl delete svc second   (its address goes to the pending Service)');
  await kubectl(api, ['delete', 'svc', 'second']);
  await waitFor(
    async () =>
      (await kubectl(api!, [
        'get',
        'svc',
        'fourth',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      ])) !== '',
    {
      description: 'fourth to get the freed address',
    },
  );
  process.stdout.write(await kubectl(api, ['get', 'svc']));

  if (values.once) {
    step('tearing down (--once)');
  } else {
    step('the lab is running. Poke at it from another shell:');
    console.log(`    export KUBECONFIG=${api.kubeconfigPath}`);
    console.log('    kubectl get svc -A');
    console.log('    kubectl describe svc exampleloadbalancerservice');
    console.log(`    curl -s http://127.0.0.1:${controller.port}/metrics | grep metallb_`);
    console.log(`    tail -f ${join(api.dir, 'controller.log')}`);
    console.log('  Ctrl-C stops everything and removes all lab state.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (error) {
  console.error(`lab failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await teardown();
  console.log('lab stopped; nothing left behind');
}
