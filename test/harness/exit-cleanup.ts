/**
 * Last-resort cleanup for a test process that ends without running its after() hooks: a crash,
 * process.exit(), or the test runner's SIGTERM when a file times out. Without it etcd and
 * kube-apiserver would outlive the test, and their temp dirs (etcd alone preallocates 64 MB) pile up.
 */
import { constants } from 'node:os';

const cleanups = new Set<() => void>();
let installed = false;

/**
 * Registers synchronous work (only that runs during 'exit') and returns its unregister function.
 * Cleanups run newest first, so a process registered after its directory is killed before the
 * directory is removed.
 */
export function onExit(cleanup: () => void): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const cleanup of [...cleanups].reverse()) {
      try {
        cleanup();
      } catch {
        // Keep going: the remaining cleanups matter more than reporting this one while exiting.
      }
    }
  });
  // A signal would end Node without 'exit' listeners; exiting explicitly runs them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
  }
}
