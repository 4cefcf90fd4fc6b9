/**
 * A work queue of keys with a few workers, owning retries. Allocation stays well ordered although
 * workers overlap: a reconcile makes its allocator decision synchronously before its first await,
 * so decisions happen one at a time, in dequeue order; only the API writes that follow overlap.
 * A key is never handled by two workers at once; one added while it runs goes again afterwards
 * (it may have changed meanwhile). Keys are de-duplicated while waiting, so a burst of updates to
 * one Service costs one reconcile.
 */
import type { Outcome } from './outcome.ts';

export interface QueueTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WorkQueueOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** How many keys may be in flight at once (default 1). */
  readonly workers?: number;
  /** Called when the handler throws: a bug, reported and retried like a transient failure. */
  readonly onCrash: (key: string, error: unknown) => void;
  readonly timers?: QueueTimers;
}

export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys whose last outcome was not ok: the ones reprocessAll revisits. */
  private readonly unsettled = new Set<string>();
  private readonly retries = new Map<string, { attempts: number; timer: unknown }>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly timers: QueueTimers;
  private readonly workers: number;

  constructor(
    private readonly handler: (key: string) => Promise<Outcome>,
    private readonly options: WorkQueueOptions,
  ) {
    this.workers = options.workers ?? 1;
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
  }

  add(key: string): void {
    this.waiting.add(key);
    this.pump();
  }

  /** Resolves once nothing is waiting or running (scheduled retries may still be pending). */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get unsettledKeys(): readonly string[] {
    return [...this.unsettled];
  }

  stop(): void {
    for (const { timer } of this.retries.values()) this.timers.clearTimeout(timer);
    this.retries.clear();
    this.waiting.clear();
  }

  private pump(): void {
    for (const key of this.waiting) {
      if (this.active.size >= this.workers) return;
      if (this.active.has(key)) continue;
      this.waiting.delete(key);
      this.active.add(key);
      void this.run(key);
    }
    if (this.active.size === 0 && this.waiting.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async run(key: string): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.handler(key);
    } catch (error) {
      this.options.onCrash(key, error);
      outcome = { kind: 'retry', reason: 'reconcile crashed' };
    }
    this.active.delete(key);
    this.settle(key, outcome);
    this.pump();
  }

  private settle(key: string, outcome: Outcome): void {
    const retry = this.retries.get(key);
    if (outcome.kind !== 'retry' && retry) {
      this.timers.clearTimeout(retry.timer);
      this.retries.delete(key);
    }
    switch (outcome.kind) {
      case 'ok':
        this.unsettled.delete(key);
        return;
      case 'noRetry':
        this.unsettled.add(key);
        return;
      case 'reprocessAll':
        this.unsettled.delete(key);
        for (const other of this.unsettled) this.waiting.add(other);
        return;
      case 'retry': {
        this.unsettled.add(key);
        const attempts = (retry?.attempts ?? 0) + 1;
        if (retry) this.timers.clearTimeout(retry.timer);
        const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempts - 1));
        const timer = this.timers.setTimeout(() => this.add(key), delay);
        this.retries.set(key, { attempts, timer });
        return;
      }
    }
  }
}
