/**
 * Long-running children of a test (etcd, kube-apiserver). Output goes straight to a log file (no pipe
 * to drain, nothing lost if the test process is busy), and stopping signals exactly the PID that was
 * spawned: tests never look processes up by name, which could hit a developer's own daemons.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { onExit } from './exit-cleanup.ts';

export interface DaemonSpec {
  /** Short name for messages, e.g. `etcd`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Appended to, so a restarted daemon keeps the earlier run's output above the new one. */
  readonly logFile: string;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Settles once the process has exited and been reaped, with how it ended. */
  readonly exited: Promise<string>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL if it is still alive after `graceMs`. Safe to call more than once. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const logFd = openSync(spec.logFile, 'a');
  // The child keeps its own copy of the descriptor, so ours can be closed as soon as it is spawned.
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let alive = false;
  let forgetOnExit = (): void => {};
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      forgetOnExit();
      resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => {
      alive = true;
      // ChildProcess.kill signals exactly this PID, and only while Node has not reaped it.
      forgetOnExit = onExit(() => child.kill('SIGKILL'));
      resolve();
    });
    child.once('error', (error) =>
      reject(new Error(`cannot start ${spec.name} (${spec.command})`, { cause: error })),
    );
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.name} started without a PID`);

  return {
    name: spec.name,
    pid,
    exited,
    isRunning: () => alive,
    async stop(graceMs = 5_000) {
      if (!alive) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    logTail(lines = 30) {
      const text = readFileSync(spec.logFile, 'utf8').trimEnd();
      return text.split('\n').slice(-lines).join('\n');
    },
  };
}
