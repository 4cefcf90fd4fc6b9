/**
 * Proves the acceptance-test harness itself: a real etcd and kube-apiserver that allocate what a
 * cluster allocates, authenticate and authorize for real, survive an apiserver restart, and leave
 * nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { useApiServer } from '../harness/apiserver.ts';
import { httpGet } from '../harness/http-get.ts';
import { isPortOpen } from '../harness/ports.ts';

const api = useApiServer();

const NAMESPACE = 'harness-test';

interface ServiceJson {
  spec: { clusterIPs?: string[]; ports: { nodePort?: number }[] };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

test('the apiserver allocates a ClusterIP per family and a nodePort to a LoadBalancer Service', async () => {
  const server = api();
  await server.kubectlOk(['create', 'namespace', NAMESPACE]);
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NAMESPACE },
    spec: {
      type: 'LoadBalancer',
      ipFamilyPolicy: 'RequireDualStack',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
  await server.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(service) });

  const created = JSON.parse(
    await server.kubectlOk(['get', 'service', 'web', '-n', NAMESPACE, '-o', 'json']),
  ) as ServiceJson;
  const [ipv4, ipv6] = created.spec.clusterIPs ?? [];
  assert.match(ipv4 ?? '', /^10\.96\.\d+\.\d+$/);
  assert.match(ipv6 ?? '', /^fd00:10:96::[0-9a-f]{1,4}$/);
  const nodePort = created.spec.ports[0]?.nodePort ?? 0;
  assert.ok(nodePort >= 30000 && nodePort <= 32767, `nodePort ${nodePort} outside 30000-32767`);
});

test('kubectl shows the LoadBalancer Service as <pending> until something assigns an address', async () => {
  const table = await api().kubectlOk(['get', 'service', 'web', '-n', NAMESPACE]);
  const [header, row] = table.trim().split('\n');
  const column = (header ?? '').split(/\s+/).indexOf('EXTERNAL-IP');
  assert.notEqual(column, -1, `no EXTERNAL-IP column in:\n${table}`);
  assert.equal((row ?? '').split(/\s+/)[column], '<pending>');
});

test('a bogus token is rejected with 401; the admin token is accepted with the generated CA', async () => {
  const server = api();
  const ca = await readFile(server.caFile, 'utf8');
  const bogus = await httpGet(`${server.url}/api/v1/namespaces`, { ca, token: 'not-a-real-token' });
  assert.equal(bogus.status, 401, bogus.body);
  const admin = await httpGet(`${server.url}/api/v1/namespaces`, { ca, token: server.adminToken });
  assert.equal(admin.status, 200, admin.body);
});

test('a ServiceAccount token works through writeKubeconfig, and RBAC limits it', async () => {
  const server = api();
  await server.kubectlOk(['create', 'serviceaccount', 'reader', '-n', NAMESPACE]);
  await server.kubectlOk([
    'create',
    'role',
    'svc-reader',
    '-n',
    NAMESPACE,
    '--verb=get,list',
    '--resource=services',
  ]);
  await server.kubectlOk([
    'create',
    'rolebinding',
    'reader-svc',
    '-n',
    NAMESPACE,
    '--role=svc-reader',
    `--serviceaccount=${NAMESPACE}:reader`,
  ]);
  const token = (await server.kubectlOk(['create', 'token', 'reader', '-n', NAMESPACE])).trim();
  const kubeconfig = join(server.dir, 'reader.kubeconfig');
  server.writeKubeconfig(kubeconfig, token, 'reader');

  await server.kubectlOk(['get', 'services', '-n', NAMESPACE], { kubeconfig });
  const denied = await server.kubectl(['get', 'nodes'], { kubeconfig });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden.*system:serviceaccount:harness-test:reader/i);

  server.writeKubeconfig(kubeconfig, 'not-a-real-token', 'nobody');
  const unauthorized = await server.kubectl(['get', 'services', '-n', NAMESPACE], { kubeconfig });
  assert.notEqual(unauthorized.code, 0);
  assert.match(unauthorized.stderr, /Unauthorized/);
});

test('the apiserver alone can go down and come back on the same URL with its data', async () => {
  const server = api();
  await server.stopApiServerOnly();
  assert.equal(await isPortOpen(portOf(server.url)), false, 'apiserver port still open');
  assert.equal(await isPortOpen(portOf(server.etcdUrl)), true, 'etcd went down with the apiserver');
  const down = await server.kubectl(['get', 'namespaces', '--request-timeout=2s']);
  assert.notEqual(down.code, 0);

  await server.restartApiServer();
  await server.kubectlOk(['get', 'service', 'web', '-n', NAMESPACE]);
});

test('stop() ends both children, closes their ports and removes the temp dir', async () => {
  const server = api();
  const pids = server.pids();
  assert.equal(pids.length, 2, 'expected etcd and kube-apiserver to be running');
  await server.stop();

  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is still alive`);
  }
  assert.equal(await isPortOpen(portOf(server.url)), false, 'apiserver port still open');
  assert.equal(await isPortOpen(portOf(server.etcdUrl)), false, 'etcd port still open');
  assert.equal(existsSync(server.dir), false, 'temp dir still there');
  assert.deepEqual(server.pids(), []);
});
