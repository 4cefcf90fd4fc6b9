/**
 * A real BIRD 2 router inside a lab namespace, in the foreground as a recorded PID, its control
 * socket in a private directory for birdc. BIRD prints no JSON: tests read `birdc show route all`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from '../harness/daemon.ts';
import { waitFor } from '../harness/wait.ts';

export interface BirdRouter {
  birdc(command: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBird(ns: string, config: string): Promise<BirdRouter> {
  const dir = mkdtempSync(join(tmpdir(), `bird-${ns}-`));
  const socket = join(dir, 'bird.ctl');
  writeFileSync(join(dir, 'bird.conf'), config);
  const daemon = await startDaemon({
    name: `bird-${ns}`,
    command: 'ip',
    // -f: foreground, so the PID recorded is BIRD's own.
    args: [
      'netns',
      'exec',
      ns,
      'bird',
      '-f',
      '-c',
      join(dir, 'bird.conf'),
      '-s',
      socket,
      '-P',
      join(dir, 'bird.pid'),
    ],
    logFile: join(dir, 'bird.log'),
  });
  // birdc exits non-zero for answers like "Network not found": that answer is still the result.
  const birdc = async (command: string): Promise<string> => {
    try {
      return (await promisify(execFile)('birdc', ['-s', socket, ...command.split(' ')])).stdout;
    } catch (error) {
      const stdout = (error as { stdout?: string }).stdout;
      if (stdout?.includes('BIRD')) return stdout;
      throw error;
    }
  };
  try {
    await waitFor(() => birdc('show status').then((out) => out.includes('Daemon is up')), {
      description: 'BIRD to answer birdc',
    });
  } catch (error) {
    const log = daemon.logTail(20);
    await daemon.stop(2000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`BIRD did not start: ${(error as Error).message}\n${log}`);
  }
  return {
    birdc,
    stop: async () => {
      await daemon.stop(3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** bird.conf: passive eBGP to each speaker, everything imported, nothing exported, kernel ECMP. */
export function birdRouterConfig(options: {
  readonly asn: number;
  readonly routerId: string;
  readonly speakers: readonly {
    readonly name: string;
    readonly address: string;
    readonly asn: number;
    /** TCP MD5 key for this neighbour: BIRD then ignores its unsigned segments. */
    readonly password?: string;
  }[];
}): string {
  return [
    `router id ${options.routerId};`,
    'protocol device {}',
    // merge paths: one multipath kernel route from the equal BGP paths (ECMP).
    'protocol kernel { ipv4 { export all; }; merge paths on; }',
    'protocol kernel { ipv6 { export all; }; merge paths on; }',
    'template bgp speakers {',
    `  local as ${options.asn};`,
    '  passive on;',
    '  hold time 3;',
    // eBGP channels import nothing unless told (RFC 8212).
    '  ipv4 { import all; export none; };',
    '  ipv6 { import all; export none; };',
    '}',
    ...options.speakers.map(
      (speaker) =>
        `protocol bgp ${speaker.name} from speakers { neighbor ${speaker.address} as ${speaker.asn};${
          speaker.password ? ` password "${speaker.password}";` : ''
        } }`,
    ),
    '',
  ].join('\n');
}
