import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Api } from '@kubernetes/client-node';
import { createEventRecorder } from '../../shared/k8s/events.ts';
import { createLogger } from '../../shared/log.ts';

/** A CoreV1Api whose event creates wait until released, counting how many are open at once. */
function fakeCore() {
  const pending: (() => void)[] = [];
  const state = { created: 0, open: 0, maxOpen: 0 };
  const core = {
    createNamespacedEvent: () =>
      new Promise<void>((resolve) => {
        state.open++;
        state.maxOpen = Math.max(state.maxOpen, state.open);
        pending.push(() => {
          state.open--;
          state.created++;
          resolve();
        });
      }),
  } as unknown as CoreV1Api;
  const releaseAll = async (): Promise<void> => {
    while (pending.length > 0) {
      for (const release of pending.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { core, state, releaseAll };
}

const service = (i: number) => ({
  kind: 'Service' as const,
  metadata: { name: `s${i}`, namespace: 'ns', uid: `u${i}` },
});
const quiet = createLogger({ component: 'test' }, 'error');

describe('event recorder', () => {
  it('sends a burst a few at a time, all of it when it fits the backlog', async () => {
    const { core, state, releaseAll } = fakeCore();
    const recorder = createEventRecorder(core, 'test', quiet);
    for (let i = 0; i < 500; i++) recorder.record(service(i), 'Normal', 'nodeAssigned', 'm');
    assert.equal(state.open, 4, 'four requests in flight, the rest queued');
    await releaseAll();
    assert.equal(state.created, 500);
    assert.equal(state.maxOpen, 4);
  });

  it('drops what exceeds the backlog instead of holding it all', async () => {
    const { core, state, releaseAll } = fakeCore();
    const recorder = createEventRecorder(core, 'test', quiet);
    for (let i = 0; i < 5000; i++) recorder.record(service(i), 'Normal', 'nodeAssigned', 'm');
    await releaseAll();
    assert.equal(state.created, 1004, 'four in flight plus the 1000 queued');
  });
});
