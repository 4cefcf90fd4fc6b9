/**
 * The monitoring endpoint every component serves: Prometheus metrics, liveness and readiness.
 * Readiness is a callback so each component decides what "ready" means.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from './metrics.ts';

export interface MonitoringServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMonitoringServer(
  host: string,
  port: number,
  registry: Registry,
  ready: () => boolean,
): Promise<MonitoringServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(registry.render());
    } else if (path === '/livez' || path === '/healthz') {
      response.writeHead(200).end('ok\n');
    } else if (path === '/readyz') {
      const isReady = ready();
      response.writeHead(isReady ? 200 : 503).end(isReady ? 'ok\n' : 'not ready\n');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
