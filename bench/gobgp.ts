/**
 * GoBGP (Debian's gobgpd 3.x) as the reference speaker of the BGP benchmark: run in a lab node's
 * namespace as a recorded PID, its gRPC API on that namespace's loopback (private to the namespace,
 * so a fixed port cannot clash with anything of the machine's), its config in a temp dir of its own.
 *
 * Loading the table: one `gobgp global rib add` per prefix costs a process start and a gRPC call
 * each (minutes for 10,000), so the prefixes go in as one MRT TABLE_DUMP_V2 file through
 * `gobgp mrt inject global`, a single streamed AddPath call. The neighbour is configured
 * administratively down and only enabled once the whole table is in gobgpd's RIB: on Established
 * gobgpd then sends the complete table at once, like our speaker after a restart.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startDaemon, type Daemon } from '../test/harness/daemon.ts';
import { waitFor } from '../test/harness/wait.ts';

export interface GoBgpOptions {
  /** The namespace gobgpd runs in (a lab node whose own speaker is stopped). */
  readonly ns: string;
  readonly asn: number;
  readonly routerId: string;
  readonly peerAddress: string;
  readonly peerAsn: number;
  readonly holdSeconds: number;
  /** gRPC API port on the namespace's loopback. */
  readonly apiPort?: number;
}

export interface GoBgp {
  readonly daemon: Daemon;
  /** Runs the gobgp CLI against this gobgpd and returns its stdout. */
  cli(args: readonly string[]): Promise<string>;
  /** Loads `prefixes` (IPv4 /32s) into the global RIB and waits until all are there. */
  load(prefixes: readonly string[]): Promise<void>;
  /** Brings the (administratively down) neighbour up: gobgpd starts connecting to the router. */
  enablePeer(): Promise<void>;
  /** UPDATE messages gobgpd counts as sent to the peer. */
  updatesSent(): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startGoBgp(options: GoBgpOptions): Promise<GoBgp> {
  const apiPort = options.apiPort ?? 50051;
  const dir = mkdtempSync(join(tmpdir(), 'gobgp-bench-'));
  // port = -1: no listener, gobgpd only connects out (the router's dynamic neighbours never dial).
  writeFileSync(
    join(dir, 'gobgpd.toml'),
    [
      '[global.config]',
      `  as = ${options.asn}`,
      `  router-id = "${options.routerId}"`,
      '  port = -1',
      '',
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${options.peerAddress}"`,
      `    peer-as = ${options.peerAsn}`,
      '    admin-down = true',
      '  [neighbors.timers.config]',
      `    hold-time = ${options.holdSeconds}`,
      `    keepalive-interval = ${Math.max(1, Math.floor(options.holdSeconds / 3))}`,
      '    connect-retry = 5',
      '',
    ].join('\n'),
  );
  let daemon: Daemon | undefined;
  const gobgp = ['gobgp', '-u', '127.0.0.1', '-p', String(apiPort)];
  const cli = async (args: readonly string[]): Promise<string> =>
    (await promisify(execFile)('ip', ['netns', 'exec', options.ns, ...gobgp, ...args])).stdout;
  const stop = async (): Promise<void> => {
    await daemon?.stop(3000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    daemon = await startDaemon({
      name: `gobgpd-${options.ns}`,
      command: 'ip',
      // `ip netns exec` execs, so the PID recorded (and signalled, and measured) is gobgpd's own.
      args: [
        'netns',
        'exec',
        options.ns,
        'gobgpd',
        '-f',
        join(dir, 'gobgpd.toml'),
        '-t',
        'toml',
        '--log-plain',
        '--log-level=info',
        `--api-hosts=127.0.0.1:${apiPort}`,
        '--pprof-disable',
      ],
      logFile: join(dir, 'gobgpd.log'),
    });
    await waitFor(() => cli(['global']).then(() => true), { description: 'gobgpd to answer its API' });
  } catch (error) {
    const log = daemon?.logTail(20) ?? '';
    await stop();
    throw new Error(`gobgpd did not start: ${(error as Error).message}\n${log}`);
  }
  const running = daemon;
  const ribSize = async (): Promise<number> =>
    Number(/Destination: (\d+)/.exec(await cli(['global', 'rib', 'summary', '-a', 'ipv4']))?.[1] ?? 0);
  return {
    daemon: running,
    cli,
    async load(prefixes) {
      // gobgp 3.x's `mrt inject` exits as soon as it has queued the last record on its gRPC
      // stream, without waiting for the server's answer, and the exiting process drops whatever
      // was not flushed yet (all of a small file). So it reads the dump from a pipe that stays
      // open until gobgpd's RIB holds every route, and only then sees the end of its input. `cat`
      // makes that a real pipe: Node's stdin for a child is a socket, which gobgp cannot open by
      // name. If the bench dies, the socket closes and both exit by themselves.
      const file = join(dir, 'table.mrt');
      writeFileSync(file, mrtTableDump(prefixes, options.routerId));
      const inject = spawn(
        'ip',
        [
          'netns',
          'exec',
          options.ns,
          'sh',
          '-c',
          'file=$1; shift; cat -- "$file" - | "$@" mrt inject global /dev/stdin',
          'sh',
          file,
          ...gobgp,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let output = '';
      for (const stream of [inject.stdout, inject.stderr])
        stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<void>((resolve) => inject.once('close', () => resolve()));
      // Its own error surfaces below through the exit and its output.
      inject.stdin.on('error', () => undefined);
      try {
        const deadline = Date.now() + 120_000;
        while ((await ribSize()) < prefixes.length) {
          if (inject.exitCode !== null || inject.signalCode !== null)
            throw new Error(`gobgp mrt inject exited early: ${output}`);
          if (Date.now() > deadline)
            throw new Error(
              `gobgpd's RIB did not reach ${prefixes.length} routes: ${await ribSize()}; ${output}`,
            );
          await sleep(200);
        }
      } finally {
        inject.stdin.end();
        await exited;
      }
    },
    async enablePeer() {
      await cli(['neighbor', options.peerAddress, 'enable']);
    },
    async updatesSent() {
      const neighbor = JSON.parse(await cli(['neighbor', options.peerAddress, '-j'])) as {
        state?: { messages?: { sent?: { update?: number } } };
      };
      return neighbor.state?.messages?.sent?.update;
    },
    stop,
  };
}

// MRT (RFC 6396): type TABLE_DUMP_V2 and its subtypes.
const TABLE_DUMP_V2 = 13;
const PEER_INDEX_TABLE = 1;
const RIB_IPV4_UNICAST = 2;

/**
 * A TABLE_DUMP_V2 file holding `prefixes` (IPv4, "a.b.c.d/len" or a bare address for a /32), each
 * with ORIGIN IGP, an empty AS_PATH and `nextHop`: what a locally originated route looks like,
 * which is what our speaker announces (both AS_PATHs gain the local AS on the way out). The one
 * peer of the index table has AS 0 and BGP ID 0.0.0.0, so gobgpd takes the routes as its own, the
 * same as `gobgp global rib add` would.
 */
export function mrtTableDump(prefixes: readonly string[], nextHop: string, timestamp = 0): Buffer {
  const records: Buffer[] = [];
  const record = (subtype: number, body: Buffer): void => {
    const header = Buffer.alloc(12);
    header.writeUInt32BE(timestamp, 0);
    header.writeUInt16BE(TABLE_DUMP_V2, 4);
    header.writeUInt16BE(subtype, 6);
    header.writeUInt32BE(body.length, 8);
    records.push(header, body);
  };
  // Collector BGP ID 0, empty view name, one peer: type 2 (IPv4 address, 4-byte AS), BGP ID 0,
  // address 0.0.0.0, AS 0.
  record(PEER_INDEX_TABLE, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  const attributes = Buffer.from([
    ...[0x40, 1, 1, 0], // ORIGIN IGP
    ...[0x40, 2, 0], // AS_PATH, empty
    ...[0x40, 3, 4, ...ipv4Bytes(nextHop)], // NEXT_HOP
  ]);
  prefixes.forEach((prefix, sequence) => {
    const [address = '', length = '32'] = prefix.split('/');
    const bits = Number(length);
    const prefixBytes = ipv4Bytes(address).subarray(0, Math.ceil(bits / 8));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(sequence, 0);
    head.writeUInt8(bits, 4);
    // One RIB entry: peer index 0, originated time, attribute length, attributes.
    const entry = Buffer.alloc(10);
    entry.writeUInt16BE(1, 0);
    entry.writeUInt16BE(0, 2);
    entry.writeUInt32BE(timestamp, 4);
    entry.writeUInt16BE(attributes.length, 8);
    record(RIB_IPV4_UNICAST, Buffer.concat([head, prefixBytes, entry, attributes]));
  });
  return Buffer.concat(records);
}

function ipv4Bytes(address: string): Buffer {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(octets);
}
