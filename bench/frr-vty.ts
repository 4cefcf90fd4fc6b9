/**
 * A persistent connection to one FRR daemon's vty socket, speaking vtysh's own protocol: a command
 * is its text and a NUL, the answer its output followed by three NULs and the command's status.
 * The benchmark polls bgpd through it because a vtysh process per poll costs 10-90 ms on a busy
 * 2-core machine (that is the resolution a poll-measured end time then has); a command over the
 * open socket costs well under a millisecond of bgpd's time.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export interface FrrVty {
  /** Runs one command (the socket starts in view mode: `show` commands) and returns its output. */
  command(line: string): Promise<string>;
  json<T = unknown>(line: string): Promise<T>;
  close(): void;
}

/** `dir` is the router's vty socket directory (FrrRouter.dir). */
export async function openVty(dir: string, daemon = 'bgpd'): Promise<FrrVty> {
  const socket: Socket = connect(join(dir, `${daemon}.vty`));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received: Buffer = Buffer.alloc(0);
  let pending: { resolve: (output: string) => void; reject: (error: Error) => void } | undefined;
  // One command at a time: answers carry no id, so each must be read before the next is sent.
  let queue: Promise<unknown> = Promise.resolve();
  const fail = (error: Error): void => {
    pending?.reject(error);
    pending = undefined;
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error(`${daemon} closed its vty socket`)));
  socket.on('data', (chunk: Buffer) => {
    received = received.length ? Buffer.concat([received, chunk]) : chunk;
    const n = received.length;
    if (n < 4 || received[n - 4] !== 0 || received[n - 3] !== 0 || received[n - 2] !== 0) return;
    const output = received.subarray(0, n - 4).toString('utf8');
    const status = received[n - 1];
    received = Buffer.alloc(0);
    const done = pending;
    pending = undefined;
    if (status === 0) done?.resolve(output);
    else done?.reject(new Error(`${daemon}: status ${status}: ${output.trim()}`));
  });
  const command = (line: string): Promise<string> => {
    const run = queue.then(
      () =>
        new Promise<string>((resolve, reject) => {
          if (socket.destroyed) return reject(new Error(`${daemon}'s vty socket is closed`));
          pending = { resolve, reject };
          socket.write(`${line}\0`);
        }),
    );
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    command,
    json: async <T>(line: string) => JSON.parse(await command(line)) as T,
    close: () => socket.destroy(),
  };
}
