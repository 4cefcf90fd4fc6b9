/**
 * A real FRR router (zebra + bgpd from Debian) inside a lab namespace, run in the foreground as
 * recorded PIDs (no systemd, no -d), with its vty sockets in a private directory so vtysh reaches
 * it from anywhere. zebra is there so accepted routes reach the router's kernel table (ECMP).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFileSync } from 'node:child_process';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { waitFor } from '../harness/wait.ts';

export interface FrrRouter {
  readonly dir: string;
  /** Runs a vtysh command and returns its output (JSON commands parsed by vtyshJson). */
  vtysh(command: string): Promise<string>;
  vtyshJson<T = unknown>(command: string): Promise<T>;
  /** The last lines bgpd logged (neighbour changes and NOTIFICATIONs, see the config). */
  bgpdLog(lines?: number): string;
  stop(): Promise<void>;
}

export interface FrrOptions {
  readonly ns: string;
  /** bgpd.conf contents (`!` comment lines only). */
  readonly bgpdConfig: string;
}

const FRR_USER = 'frr';

export async function startFrr(options: FrrOptions): Promise<FrrRouter> {
  // A directory of its own directly under /tmp: FRR drops to user frr, which could not traverse a
  // test's private (0700) directory to reach its sockets and pid files.
  const dir = mkdtempSync(join(tmpdir(), `frr-${options.ns}-`));
  const uid = Number(execFileSync('id', ['-u', FRR_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', FRR_USER], { encoding: 'utf8' }).trim());
  writeFileSync(join(dir, 'zebra.conf'), 'hostname router\n');
  writeFileSync(join(dir, 'bgpd.conf'), options.bgpdConfig);
  for (const file of ['', 'zebra.conf', 'bgpd.conf']) chownSync(join(dir, file), uid, gid);
  const common = [
    '--vty_socket',
    dir,
    '-z',
    join(dir, 'zserv.api'),
    '-A',
    '127.0.0.1',
    '-P',
    '0',
    '-u',
    FRR_USER,
    '-g',
    FRR_USER,
  ];
  const daemons: Daemon[] = [];
  const start = async (name: 'zebra' | 'bgpd'): Promise<void> => {
    daemons.push(
      await startDaemon({
        name: `${name}-${options.ns}`,
        command: 'ip',
        args: [
          'netns',
          'exec',
          options.ns,
          `/usr/lib/frr/${name}`,
          ...common,
          '-i',
          join(dir, `${name}.pid`),
          '-f',
          join(dir, `${name}.conf`),
        ],
        logFile: join(dir, `${name}.log`),
      }),
    );
  };
  const vtysh = async (command: string): Promise<string> =>
    (await promisify(execFile)('vtysh', ['--vty_socket', dir, '-c', command])).stdout;
  try {
    await start('zebra');
    await waitFor(() => vtysh('show version').then(() => true), { description: 'zebra to accept vtysh' });
    await start('bgpd');
    await waitFor(() => vtysh('show bgp summary json').then(() => true), {
      description: 'bgpd to accept vtysh',
    });
  } catch (error) {
    await Promise.all(daemons.map((d) => d.stop(2000)));
    const logs = daemons.map((d) => d.logTail(20)).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`FRR did not start: ${(error as Error).message}\n${logs}`);
  }
  return {
    dir,
    vtysh,
    vtyshJson: async <T>(command: string) => JSON.parse(await vtysh(command)) as T,
    bgpdLog: (lines = 200) => daemons.find((d) => d.name.startsWith('bgpd'))?.logTail(lines) ?? '',
    stop: async () => {
      // bgpd first: its NOTIFICATIONs go out while zebra still runs.
      for (const daemon of [...daemons].reverse()) await daemon.stop(3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** bgpd.conf for a router that accepts any speaker of `subnet` (eBGP, dynamic neighbours), ECMP on. */
export function listeningRouterConfig(options: {
  readonly asn: number;
  readonly routerId: string;
  readonly listenRanges: readonly string[];
  readonly holdSeconds?: number;
  readonly password?: string;
}): string {
  const hold = options.holdSeconds ?? 3;
  return [
    'frr defaults traditional',
    'hostname router',
    'log stdout informational',
    '!',
    `router bgp ${options.asn}`,
    ` bgp router-id ${options.routerId}`,
    ' bgp log-neighbor-changes',
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax',
    ' neighbor SPEAKERS peer-group',
    ' neighbor SPEAKERS remote-as external',
    ` neighbor SPEAKERS timers ${Math.max(1, Math.floor(hold / 3))} ${hold}`,
    ...(options.password ? [` neighbor SPEAKERS password ${options.password}`] : []),
    ...options.listenRanges.map((range) => ` bgp listen range ${range} peer-group SPEAKERS`),
    ...['ipv4', 'ipv6'].flatMap((family) => [
      ` address-family ${family} unicast`,
      '  neighbor SPEAKERS activate',
      '  neighbor SPEAKERS route-map NOTHING out',
      '  maximum-paths 16',
      ' exit-address-family',
    ]),
    '!',
    '! Routers must never send our routes back to the speakers.',
    'route-map NOTHING deny 10',
    '!',
    '',
  ].join('\n');
}
