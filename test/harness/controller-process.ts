/**
 * Runs the real controller (bin/metallb-ts.ts controller) as a child process, the way a Pod would
 * run it, so tests can kill -9 it, restart it, and read its metrics over HTTP.
 */
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon.ts';
import { httpGet } from './http-get.ts';
import { freePorts } from './ports.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'metallb-ts.ts');

export interface ControllerProcess {
  readonly daemon: Daemon;
  readonly port: number;
  /** The value of one metric line, e.g. `metallb_k8s_client_config_stale_bool`, or undefined. */
  metric(series: string): Promise<number | undefined>;
  ready(): Promise<boolean>;
}

export async function startController(
  kubeconfig: string,
  logFile: string,
  extraArgs: readonly string[] = [],
): Promise<ControllerProcess> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const daemon = await startDaemon({
    name: 'controller',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      CLI,
      'controller',
      `--kubeconfig=${kubeconfig}`,
      '--host=127.0.0.1',
      `--port=${port}`,
      '--namespace=metallb-system',
      '--log-level=debug',
      ...extraArgs,
    ],
    logFile,
  });
  const get = (path: string) => httpGet(`http://127.0.0.1:${port}${path}`);
  return {
    daemon,
    port,
    async metric(series) {
      const body = (await get('/metrics')).body;
      const line = body.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    async ready() {
      try {
        return (await get('/readyz')).status === 200;
      } catch {
        return false;
      }
    },
  };
}
