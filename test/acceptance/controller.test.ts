/**
 * The controller against a real kube-apiserver: installed from our manifests, running as its own
 * ServiceAccount, driven through the API and kubectl exactly as a cluster admin would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { useApiServer } from '../harness/apiserver.ts';
import { startController, type ControllerProcess } from '../harness/controller-process.ts';
import { waitFor } from '../harness/wait.ts';

let api: ReturnType<typeof useApiServer>;
const REPO = join(import.meta.dirname, '..', '..');
let core: CoreV1Api;
let controller: ControllerProcess;
let controllerKubeconfig: string;

const SUITE_CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.1.251-192.168.1.253
- name: manual
  protocol: layer2
  auto-assign: false
  addresses: [10.20.0.0/29]
- name: dual
  protocol: bgp
  auto-assign: false
  addresses: [10.30.0.0/30, "fd00:30::/126"]
- name: shared
  protocol: layer2
  auto-assign: false
  addresses: [10.40.0.0/30]
- name: burst
  protocol: layer2
  auto-assign: false
  addresses: [10.50.0.0/24]
`;

async function kubectl(args: string[], input?: string): Promise<string> {
  return api().kubectlOk(args, input === undefined ? {} : { input });
}

function configMap(name: string, config: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: 'metallb-system', name },
    data: { config },
  });
}

async function namespace(name: string): Promise<string> {
  await kubectl(['create', 'namespace', name]);
  return name;
}

interface ServiceOptions {
  readonly ports?: { port: number; protocol?: string }[];
  readonly annotations?: Record<string, string>;
  readonly spec?: Record<string, unknown>;
}

async function createService(ns: string, name: string, options: ServiceOptions = {}): Promise<void> {
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name, namespace: ns, annotations: options.annotations ?? {} },
      spec: {
        type: 'LoadBalancer',
        selector: { app: name },
        ports: (options.ports ?? [{ port: 8080 }]).map((p) => ({
          name: `p${p.port}-${(p.protocol ?? 'TCP').toLowerCase()}`,
          port: p.port,
          protocol: p.protocol ?? 'TCP',
          targetPort: 80,
        })),
        ...options.spec,
      },
    },
  });
}

const ingress = (service: V1Service): string[] =>
  (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? '?');

async function ips(ns: string, name: string): Promise<string[]> {
  return ingress(await core.readNamespacedService({ name, namespace: ns }));
}

async function waitForIps(ns: string, name: string, expected: string[]): Promise<void> {
  await waitFor(async () => JSON.stringify(await ips(ns, name)) === JSON.stringify(expected), {
    description: `${ns}/${name} to get ${JSON.stringify(expected)} (has ${JSON.stringify(await ips(ns, name).catch(() => []))})`,
  });
}

/** Waits for an Event with `reason` on the object and returns its message. */
async function waitForEvent(
  ns: string,
  name: string,
  reason: string,
  matching: RegExp = /./,
): Promise<string> {
  return waitFor(
    async () => {
      const events = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return events.items.find((e) => e.reason === reason && matching.test(e.message ?? ''))?.message;
    },
    { description: `a ${reason} event on ${ns}/${name} matching ${matching}` },
  );
}

/** The EXTERNAL-IP column of `kubectl get svc NAME`, as a user reads it. */
async function externalIpColumn(ns: string, name: string): Promise<string> {
  const [header = '', row = ''] = (await kubectl(['get', 'svc', name, '-n', ns])).trim().split('\n');
  const column = header.split(/\s+/).indexOf('EXTERNAL-IP');
  assert.ok(column >= 0, `no EXTERNAL-IP column in: ${header}`);
  return row.split(/\s+/)[column] ?? '';
}

async function installAndStartController(): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(api().kubeconfigPath);
  core = kubeConfig.makeApiClient(CoreV1Api);
  // Server-side apply validates every field of our manifests against the real schema.
  await kubectl([
    'apply',
    '--server-side',
    '--field-manager=test',
    '-f',
    join(REPO, 'manifests/namespace.yaml'),
  ]);
  await kubectl([
    'apply',
    '--server-side',
    '--field-manager=test',
    '-f',
    join(REPO, 'manifests/metallb.yaml'),
  ]);
  await kubectl(['apply', '-f', '-'], configMap('config', SUITE_CONFIG));
  // Run the controller with nothing but its ServiceAccount's permissions.
  const token = (
    await kubectl(['create', 'token', 'controller', '-n', 'metallb-system', '--duration=2h'])
  ).trim();
  controllerKubeconfig = join(api().dir, 'controller.kubeconfig');
  api().writeKubeconfig(controllerKubeconfig, token, 'system:serviceaccount:metallb-system:controller');
  controller = await startController(controllerKubeconfig, join(api().dir, 'controller.log'));
  await waitFor(() => controller.ready(), { description: 'the controller to be ready', timeoutMs: 20_000 });
}

describe('controller', { concurrency: false }, () => {
  // Registered on this suite, in this order: hooks of one suite run one after the other.
  api = useApiServer();
  before(installAndStartController);
  after(async () => {
    await controller?.daemon.stop();
  });

  it('assigns the seed-001 address, shows it in kubectl, and hands a freed address to a pending Service', async () => {
    const ns = await namespace('seed');
    await createService(ns, 'exampleloadbalancerservice');
    await waitForIps(ns, 'exampleloadbalancerservice', ['192.168.1.251']);
    assert.equal(await externalIpColumn(ns, 'exampleloadbalancerservice'), '192.168.1.251');
    const describeOutput = await kubectl(['describe', 'svc', 'exampleloadbalancerservice', '-n', ns]);
    assert.match(describeOutput, /IPAllocated\s+.*Assigned IP \["192\.168\.1\.251"\]/);

    await createService(ns, 'second');
    await waitForIps(ns, 'second', ['192.168.1.252']);
    await createService(ns, 'third');
    await waitForIps(ns, 'third', ['192.168.1.253']);
    await createService(ns, 'fourth');
    const failure = await waitForEvent(ns, 'fourth', 'AllocationFailed');
    assert.match(failure, /no available addresses/);
    assert.equal(await externalIpColumn(ns, 'fourth'), '<pending>');

    await core.deleteNamespacedService({ name: 'second', namespace: ns });
    await waitForIps(ns, 'fourth', ['192.168.1.252']);
    assert.equal(await controller.metric('metallb_allocator_addresses_total{pool="default"}'), 3);
    assert.equal(await controller.metric('metallb_allocator_addresses_in_use_total{pool="default"}'), 3);
  });

  it('gives requested addresses from spec and both annotation prefixes, and says why it cannot', async () => {
    const ns = await namespace('requested');
    await createService(ns, 'by-spec', { spec: { loadBalancerIP: '10.20.0.5' } });
    await createService(ns, 'by-annotation', {
      annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.20.0.6' },
    });
    await createService(ns, 'by-new-annotation', {
      annotations: { 'metallb.io/loadBalancerIPs': '10.20.0.7' },
    });
    await waitForIps(ns, 'by-spec', ['10.20.0.5']);
    await waitForIps(ns, 'by-annotation', ['10.20.0.6']);
    await waitForIps(ns, 'by-new-annotation', ['10.20.0.7']);

    await createService(ns, 'taken', { spec: { loadBalancerIP: '10.20.0.5' } });
    assert.match(
      await waitForEvent(ns, 'taken', 'AllocationFailed'),
      /10\.20\.0\.5: already in use by requested\/by-spec/,
    );
    await createService(ns, 'outside', { spec: { loadBalancerIP: '172.31.0.1' } });
    assert.match(
      await waitForEvent(ns, 'outside', 'AllocationFailed'),
      /172\.31\.0\.1 is not in any address pool/,
    );
    assert.deepEqual(await ips(ns, 'taken'), []);
  });

  it('allocates from the pool named by annotation, also when it is not auto-assign', async () => {
    const ns = await namespace('by-pool');
    await createService(ns, 'pooled', { annotations: { 'metallb.universe.tf/address-pool': 'manual' } });
    await waitForIps(ns, 'pooled', ['10.20.0.0']);
    await createService(ns, 'unknown', { annotations: { 'metallb.universe.tf/address-pool': 'nope' } });
    assert.match(await waitForEvent(ns, 'unknown', 'AllocationFailed'), /unknown address pool "nope"/);
  });

  it('shares an address between compatible Services and refuses incompatible ones', async () => {
    const ns = await namespace('sharing');
    const shared = (key: string) => ({
      'metallb.universe.tf/allow-shared-ip': key,
      'metallb.universe.tf/address-pool': 'shared',
    });
    await createService(ns, 'http', { annotations: shared('web'), ports: [{ port: 80 }] });
    await waitForIps(ns, 'http', ['10.40.0.0']);
    await createService(ns, 'https', { annotations: shared('web'), ports: [{ port: 443 }] });
    await waitForIps(ns, 'https', ['10.40.0.0']);
    // Same key but a clashing port: it cannot join, so it gets the next address.
    await createService(ns, 'http-again', { annotations: shared('web'), ports: [{ port: 80 }] });
    await waitForIps(ns, 'http-again', ['10.40.0.1']);
    await createService(ns, 'intruder', {
      annotations: { ...shared('other'), 'metallb.universe.tf/loadBalancerIPs': '10.40.0.0' },
      ports: [{ port: 8443 }],
    });
    assert.match(await waitForEvent(ns, 'intruder', 'AllocationFailed'), /sharing key "web", not "other"/);
  });

  it('assigns one address per family to dual-stack Services', async () => {
    const ns = await namespace('dual');
    const pool = { 'metallb.universe.tf/address-pool': 'dual' };
    await createService(ns, 'both', {
      annotations: pool,
      spec: { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] },
    });
    await waitForIps(ns, 'both', ['10.30.0.0', 'fd00:30::']);
    await createService(ns, 'v6-first', {
      annotations: pool,
      spec: { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] },
    });
    await waitForIps(ns, 'v6-first', ['fd00:30::1', '10.30.0.1']);
    // PreferDualStack from an IPv4-only pool falls back to one IPv4 address.
    await createService(ns, 'prefer', {
      annotations: { 'metallb.universe.tf/address-pool': 'manual' },
      spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
    });
    await waitForIps(ns, 'prefer', ['10.20.0.1']);
    await createService(ns, 'v6-only', {
      annotations: { 'metallb.universe.tf/address-pool': 'manual' },
      spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] },
    });
    assert.match(await waitForEvent(ns, 'v6-only', 'AllocationFailed'), /cannot provide an IPv6 address/);
  });

  it('releases the address and clears status when a Service stops being a LoadBalancer', async () => {
    const ns = await namespace('retype');
    await createService(ns, 'lb', { spec: { loadBalancerIP: '10.20.0.3' } });
    await waitForIps(ns, 'lb', ['10.20.0.3']);
    await kubectl(['patch', 'svc', 'lb', '-n', ns, '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
    await waitForIps(ns, 'lb', []);
    await createService(ns, 'next', { spec: { loadBalancerIP: '10.20.0.3' } });
    await waitForIps(ns, 'next', ['10.20.0.3']);
  });

  it('leaves Services of another loadBalancerClass to the controller of that class', async () => {
    const ns = await namespace('classes');
    await createService(ns, 'foreign', { spec: { loadBalancerClass: 'example.com/other' } });
    await createService(ns, 'sentinel', { spec: { loadBalancerIP: '10.20.0.4' } });
    await waitForIps(ns, 'sentinel', ['10.20.0.4']);
    assert.deepEqual(await ips(ns, 'foreign'), [], 'the default controller must not touch another class');

    await kubectl(
      ['apply', '-f', '-'],
      configMap(
        'config-other',
        'address-pools:\n- name: other\n  protocol: layer2\n  addresses: [10.60.0.0/30]\n',
      ),
    );
    const classed = await startController(api().kubeconfigPath, join(api().dir, 'controller-other.log'), [
      '--lb-class=example.com/other',
      '--config=config-other',
    ]);
    try {
      await waitForIps(ns, 'foreign', ['10.60.0.0']);
      assert.deepEqual(await ips(ns, 'sentinel'), ['10.20.0.4']);
    } finally {
      await classed.daemon.stop();
    }
  });

  it('runs with only the permissions of its ServiceAccount, which forbid anything else', async () => {
    const as = { kubeconfig: controllerKubeconfig };
    const whoami = await api().kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], as);
    assert.equal(whoami.stdout, 'system:serviceaccount:metallb-system:controller');
    for (const forbidden of [
      ['get', 'secrets', '-n', 'metallb-system'],
      ['get', 'configmap', 'kube-root-ca.crt', '-n', 'metallb-system'],
      ['get', 'pods', '-A'],
      [
        'patch',
        'svc',
        'exampleloadbalancerservice',
        '-n',
        'seed',
        '--type=merge',
        '-p',
        '{"spec":{"type":"ClusterIP"}}',
      ],
    ]) {
      const result = await api().kubectl(forbidden, as);
      assert.notEqual(result.code, 0, `kubectl ${forbidden.join(' ')} should be forbidden`);
      assert.match(result.stderr, /forbidden/i);
    }
    const log = readFileSync(join(api().dir, 'controller.log'), 'utf8');
    assert.doesNotMatch(log, /HTTP 403|forbidden/i, 'the controller hit a permission it lacks');
  });

  it('creates the memberlist Secret with a random text key', async () => {
    const secret = await core.readNamespacedSecret({ name: 'memberlist', namespace: 'metallb-system' });
    // The value is base64 text (what the speaker gets in its environment) of 48 random bytes.
    const value = Buffer.from(secret.data?.['secretkey'] ?? '', 'base64').toString('utf8');
    assert.match(value, /^[A-Za-z0-9+/]{64}$/);
    assert.equal(Buffer.from(value, 'base64').length, 48);
  });

  it('keeps the last good config when a new one is invalid or would take addresses in use', async () => {
    const ns = await namespace('config-changes');
    const invalid = SUITE_CONFIG.replace('192.168.1.251-192.168.1.253', '192.168.1.300-192.168.1.310');
    await kubectl(['apply', '-f', '-'], configMap('config', invalid));
    const message = await waitForEvent('metallb-system', 'config', 'InvalidConfig', /300/);
    assert.match(
      message,
      /address-pools\[0\]\.addresses\[0\]: "192\.168\.1\.300-192\.168\.1\.310": invalid IPv4 address 192\.168\.1\.300/,
    );
    await waitFor(async () => (await controller.metric('metallb_k8s_client_config_stale_bool')) === 1, {
      description: 'the stale metric to be set',
    });
    // The old pools still serve, and nothing assigned has moved.
    await createService(ns, 'during-stale', { spec: { loadBalancerIP: '10.20.0.2' } });
    await waitForIps(ns, 'during-stale', ['10.20.0.2']);
    assert.deepEqual(await ips('seed', 'exampleloadbalancerservice'), ['192.168.1.251']);

    const withoutDefault = SUITE_CONFIG.replace(
      /- name: default\n {2}protocol: layer2\n {2}addresses:\n {2}- 192\.168\.1\.251-192\.168\.1\.253\n/,
      '',
    );
    assert.notEqual(withoutDefault, SUITE_CONFIG);
    await kubectl(['apply', '-f', '-'], configMap('config', withoutDefault));
    assert.match(
      await waitForEvent('metallb-system', 'config', 'InvalidConfig', /held by/),
      /192\.168\.1\.251 is held by seed\/exampleloadbalancerservice but is in no address pool of the new config/,
    );

    await kubectl(['apply', '-f', '-'], configMap('config', SUITE_CONFIG));
    await waitFor(async () => (await controller.metric('metallb_k8s_client_config_stale_bool')) === 0, {
      description: 'the stale metric to clear after a good config',
    });

    await kubectl(['delete', 'configmap', 'config', '-n', 'metallb-system']);
    await createService(ns, 'after-delete', {
      annotations: { 'metallb.universe.tf/address-pool': 'shared' },
    });
    await waitForIps(ns, 'after-delete', ['10.40.0.2']);
    assert.equal(await controller.metric('metallb_k8s_client_config_loaded_bool'), 1);
    await kubectl(['apply', '-f', '-'], configMap('config', SUITE_CONFIG));
  });

  it('rides out an apiserver outage: its watches restart by themselves and it resumes', async () => {
    const ns = await namespace('outage');
    // The dual pool's IPv4 half still has 10.30.0.2 and .3 free at this point of the suite.
    const dualPool = { 'metallb.universe.tf/address-pool': 'dual' };
    await createService(ns, 'before', { annotations: dualPool });
    await waitForIps(ns, 'before', ['10.30.0.2']);
    await api().stopApiServerOnly();
    // Long enough for the watches to fail and back off a few times.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.ok(controller.daemon.isRunning(), 'the controller must survive the outage');
    await api().restartApiServer();
    await createService(ns, 'after', { annotations: dualPool });
    await waitForIps(ns, 'after', ['10.30.0.3']);
    assert.deepEqual(await ips(ns, 'before'), ['10.30.0.2']);
    const log = readFileSync(join(api().dir, 'controller.log'), 'utf8');
    assert.match(log, /watch failed, restarting/, 'the outage should have been seen and survived');
  });

  it('never moves or duplicates an address when restarted in the middle of a burst', async () => {
    const ns = await namespace('burst');
    const seen = new Map<string, string>();
    const moved: string[] = [];
    let watching = true;
    // Every status ever observed: an address, once published, must never change.
    const observe = async (): Promise<void> => {
      for (const service of (await core.listNamespacedService({ namespace: ns })).items) {
        const name = service.metadata?.name ?? '';
        const now = ingress(service).join(',');
        const before = seen.get(name);
        if (now && before && before !== now) moved.push(`${name}: ${before} -> ${now}`);
        if (now) seen.set(name, now);
      }
    };
    const observer = (async () => {
      while (watching) {
        await observe();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const memberlistKey = async (): Promise<string | undefined> =>
      (await core.readNamespacedSecret({ name: 'memberlist', namespace: 'metallb-system' })).data?.[
        'secretkey'
      ];
    const keyBefore = await memberlistKey();
    const pool = { 'metallb.universe.tf/address-pool': 'burst' };
    const names = Array.from({ length: 60 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    for (const [index, name] of names.entries()) {
      await createService(ns, name, { annotations: pool });
      if (index === 20) {
        process.kill(controller.daemon.pid, 'SIGKILL');
        await controller.daemon.exited;
      }
      if (index === 40) {
        controller = await startController(controllerKubeconfig, join(api().dir, 'controller-restarted.log'));
      }
    }
    try {
      await waitFor(
        async () =>
          (await core.listNamespacedService({ namespace: ns })).items.every((s) => ingress(s).length === 1),
        {
          description: 'all 60 burst Services to get an address',
          timeoutMs: 20_000,
        },
      );
      const assigned = (await core.listNamespacedService({ namespace: ns })).items.map((s) => ingress(s)[0]);
      assert.equal(new Set(assigned).size, 60, `duplicate addresses: ${assigned.join(' ')}`);
      // A second restart with everything assigned must change nothing either.
      await controller.daemon.stop();
      controller = await startController(controllerKubeconfig, join(api().dir, 'controller-restarted-2.log'));
      await waitFor(() => controller.ready(), { description: 'the restarted controller to be ready' });
      await createService(ns, 'after-restart', { annotations: pool });
      await waitFor(async () => (await ips(ns, 'after-restart')).length === 1, {
        description: 'a new Service after restart',
      });
      assert.ok(
        !assigned.includes((await ips(ns, 'after-restart'))[0]),
        'the new Service got a held address',
      );
    } finally {
      watching = false;
      await observer;
    }
    await observe();
    assert.equal(await memberlistKey(), keyBefore, 'a restart must never rotate the memberlist key');
    assert.deepEqual(moved, [], 'addresses moved');
    assert.equal(seen.size, 61);
  });
});
