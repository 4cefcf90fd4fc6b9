import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, type QueueTimers } from '../../controller/work-queue.ts';
import type { Outcome } from '../../controller/outcome.ts';

/** Timers that fire only when the test says so, recording each requested delay. */
function manualTimers(): QueueTimers & { delays: number[]; fireAll(): void } {
  let pending: (() => void)[] = [];
  const delays: number[] = [];
  return {
    delays,
    setTimeout(fn, ms) {
      delays.push(ms);
      pending.push(fn);
      return fn;
    },
    clearTimeout(handle) {
      pending = pending.filter((fn) => fn !== handle);
    },
    fireAll() {
      const due = pending;
      pending = [];
      for (const fn of due) fn();
    },
  };
}

function queueWith(outcomes: Record<string, Outcome[]>, timers = manualTimers()) {
  const calls: string[] = [];
  const crashes: string[] = [];
  const queue = new WorkQueue(
    async (key) => {
      calls.push(key);
      const next = outcomes[key]?.shift();
      if (!next) throw new Error(`no outcome scripted for ${key}`);
      return next;
    },
    { baseDelayMs: 100, maxDelayMs: 350, onCrash: (key) => crashes.push(key), timers },
  );
  return { queue, calls, crashes, timers };
}

describe('work queue', () => {
  it('runs each waiting key once, in order, and again if re-added while it ran', async () => {
    const { queue, calls } = queueWith({
      running: [{ kind: 'ok' }, { kind: 'ok' }],
      b: [{ kind: 'ok' }],
      c: [{ kind: 'ok' }],
    });
    queue.add('running'); // starts at once
    queue.add('b');
    queue.add('b');
    queue.add('c');
    queue.add('running'); // it may have changed during its reconcile: run it again
    await queue.idle();
    assert.deepEqual(calls, ['running', 'b', 'c', 'running']);
  });

  it('retries with doubling, capped backoff and forgets it after success', async () => {
    const retry: Outcome = { kind: 'retry', reason: 'api down' };
    const { queue, calls, timers } = queueWith({ a: [retry, retry, retry, { kind: 'ok' }] });
    queue.add('a');
    for (let i = 0; i < 3; i++) {
      await queue.idle();
      timers.fireAll();
    }
    await queue.idle();
    assert.deepEqual(calls, ['a', 'a', 'a', 'a']);
    assert.deepEqual(timers.delays, [100, 200, 350]);
    assert.deepEqual(queue.unsettledKeys, []);
  });

  it('revisits unsettled keys on reprocessAll, and only those', async () => {
    const { queue, calls } = queueWith({
      pending: [{ kind: 'noRetry', reason: 'pool exhausted' }, { kind: 'ok' }],
      fine: [{ kind: 'ok' }],
      deleted: [{ kind: 'reprocessAll' }],
    });
    queue.add('pending');
    queue.add('fine');
    await queue.idle();
    assert.deepEqual(queue.unsettledKeys, ['pending']);
    queue.add('deleted');
    await queue.idle();
    assert.deepEqual(calls, ['pending', 'fine', 'deleted', 'pending']);
    assert.deepEqual(queue.unsettledKeys, []);
  });

  it('reports a crashing handler and retries it', async () => {
    const { queue, crashes, timers } = queueWith({});
    queue.add('boom');
    await queue.idle();
    assert.deepEqual(crashes, ['boom']);
    assert.deepEqual(timers.delays, [100]);
  });

  it('overlaps up to its worker count but never runs one key twice at once', async () => {
    const running = new Set<string>();
    let peak = 0;
    const overlaps: string[] = [];
    const release: (() => void)[] = [];
    const queue = new WorkQueue(
      async (key) => {
        if (running.has(key)) overlaps.push(key);
        running.add(key);
        peak = Math.max(peak, running.size);
        await new Promise<void>((resolve) => release.push(resolve));
        running.delete(key);
        return { kind: 'ok' };
      },
      { baseDelayMs: 1, maxDelayMs: 1, workers: 3, onCrash: () => undefined },
    );
    for (const key of ['a', 'b', 'c', 'd', 'a']) queue.add(key);
    const idle = queue.idle();
    while (release.length > 0 || running.size > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      release.shift()?.();
    }
    await idle;
    assert.equal(peak, 3);
    assert.deepEqual(overlaps, []);
  });
});
