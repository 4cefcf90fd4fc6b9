/**
 * Lets processes inside lab namespaces reach the apiserver on the host's loopback without linking
 * the lab to the host network: socat forwards a Unix socket (filesystems are not per network
 * namespace) to the apiserver, and inside each namespace socat listens on 127.0.0.1:6443 and
 * forwards to that socket. The apiserver's certificate is valid for 127.0.0.1, so TLS just works.
 */
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { waitFor } from '../harness/wait.ts';
import { existsSync } from 'node:fs';

export const RELAY_PORT = 6443;

export interface ApiRelay {
  /** The URL processes inside a relayed namespace use. */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startApiRelay(
  apiserverUrl: string,
  dir: string,
  namespaces: readonly string[],
): Promise<ApiRelay> {
  const socket = join(dir, 'apiserver.sock');
  const target = new URL(apiserverUrl);
  const daemons: Daemon[] = [];
  try {
    daemons.push(
      await startDaemon({
        name: 'relay-host',
        command: 'socat',
        args: [`UNIX-LISTEN:${socket},fork,unlink-early`, `TCP:${target.hostname}:${target.port}`],
        logFile: join(dir, 'relay-host.log'),
      }),
    );
    await waitFor(() => existsSync(socket), { description: 'the relay socket to appear' });
    for (const ns of namespaces) {
      daemons.push(
        await startDaemon({
          name: `relay-${ns}`,
          command: 'ip',
          args: [
            'netns',
            'exec',
            ns,
            'socat',
            `TCP-LISTEN:${RELAY_PORT},bind=127.0.0.1,reuseaddr,fork`,
            `UNIX-CONNECT:${socket}`,
          ],
          logFile: join(dir, `relay-${ns}.log`),
        }),
      );
    }
  } catch (error) {
    await Promise.all(daemons.map((d) => d.stop()));
    throw error;
  }
  return {
    url: `https://127.0.0.1:${RELAY_PORT}`,
    stop: async () => {
      await Promise.all(daemons.map((d) => d.stop(1000)));
    },
  };
}
