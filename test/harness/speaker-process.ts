/**
 * Runs a real speaker (bin/metallb-ts.ts speaker) inside a lab node's network namespace, the way
 * the DaemonSet runs it in the node's host network: its own node name, node IP and the memberlist
 * key in its environment (as kubelet would put it from the Secret).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type Daemon } from './daemon.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'metallb-ts.ts');
export const SPEAKER_METRICS_PORT = 7472;

export interface SpeakerHost {
  readonly ns: string;
  readonly name: string;
  readonly ipv4: string;
}

export interface SpeakerProcess {
  readonly daemon: Daemon;
  readonly host: SpeakerHost;
  /** The whole /metrics text, fetched from inside the node's namespace. */
  metrics(): Promise<string>;
  /** The value of one series, e.g. `metallb_layer2_gratuitous_sent{ip="10.99.0.200"}`. */
  metric(series: string): Promise<number | undefined>;
  ready(): Promise<boolean>;
}

export async function startSpeaker(
  host: SpeakerHost,
  kubeconfig: string,
  memberlistKey: string,
  logFile: string,
  extraArgs: readonly string[] = [],
): Promise<SpeakerProcess> {
  const daemon = await startDaemon({
    name: `speaker-${host.name}`,
    command: 'ip',
    // `ip netns exec` and `env` both exec, so the PID recorded is the speaker's own.
    args: [
      'netns',
      'exec',
      host.ns,
      'env',
      `METALLB_ML_SECRET_KEY=${memberlistKey}`,
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'speaker',
      `--kubeconfig=${kubeconfig}`,
      `--node-name=${host.name}`,
      `--host=${host.ipv4}`,
      '--namespace=metallb-system',
      `--port=${SPEAKER_METRICS_PORT}`,
      '--metrics-host=127.0.0.1',
      '--log-level=debug',
      ...extraArgs,
    ],
    logFile,
  });
  const curl = async (path: string): Promise<{ code: number; body: string }> => {
    try {
      const { stdout } = await promisify(execFile)('ip', [
        'netns',
        'exec',
        host.ns,
        'curl',
        '-s',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        `http://127.0.0.1:${SPEAKER_METRICS_PORT}${path}`,
      ]);
      const cut = stdout.lastIndexOf('\n');
      return { code: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
    } catch {
      return { code: 0, body: '' };
    }
  };
  return {
    daemon,
    host,
    metrics: async () => (await curl('/metrics')).body,
    async metric(series) {
      const line = (await curl('/metrics')).body.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    ready: async () => (await curl('/readyz')).code === 200,
  };
}
