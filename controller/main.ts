/**
 * `metallb-ts controller`: wires the real API client, logger, metrics server and signals to the
 * Controller. Flags mirror MetalLB's where they exist.
 */
import { parseArgs } from 'node:util';
import { loadKubeConfig } from '../shared/k8s/client.ts';
import { createLogger, type Level } from '../shared/log.ts';
import { Registry } from '../shared/metrics.ts';
import { startMonitoringServer } from '../shared/http-server.ts';
import { Controller } from './controller.ts';

export const CONTROLLER_USAGE = `usage: metallb-ts controller [flags]
  --kubeconfig PATH        kubeconfig to use (default: in-cluster, then ~/.kube/config)
  --namespace NS           namespace of the ConfigMap and Secret (default: $METALLB_NAMESPACE or metallb-system)
  --config NAME            ConfigMap name (default: config)
  --ml-secret-name NAME    memberlist Secret to create if missing (default: memberlist)
  --lb-class NAME          handle only Services of this loadBalancerClass (default: Services without a class)
  --host ADDR              address of the metrics/health server (default: 0.0.0.0)
  --port N                 port of the metrics/health server (default: 7472; 0 picks a free one)
  --log-level LEVEL        debug, info, warn or error (default: info)`;

export async function runController(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', default: process.env['METALLB_NAMESPACE'] ?? 'metallb-system' },
      config: { type: 'string', default: 'config' },
      'ml-secret-name': { type: 'string', default: 'memberlist' },
      'lb-class': { type: 'string' },
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '7472' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(CONTROLLER_USAGE + '\n');
    return 0;
  }
  const log = createLogger({ component: 'controller' }, values['log-level'] as Level);
  const registry = new Registry();
  const controller = new Controller({
    kubeConfig: loadKubeConfig(values.kubeconfig),
    namespace: values.namespace,
    configMapName: values.config,
    memberlistSecretName: values['ml-secret-name'],
    loadBalancerClass: values['lb-class'],
    log,
    registry,
  });
  const server = await startMonitoringServer(
    values.host,
    Number(values.port),
    registry,
    () => controller.ready,
  );
  log.info('controller starting', { metricsPort: server.port, namespace: values.namespace });
  controller.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('controller stopping');
  await controller.stop();
  await server.close();
  return 0;
}
