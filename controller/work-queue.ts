/**
 * A serial work queue of keys. Serial on purpose: the allocator is a single shared state, and one
 * reconcile at a time makes "lowest free address" well defined. Keys are de-duplicated while
 * waiting, so a burst of updates to one Service costs one reconcile.
 */
import type { Outcome } from './outcome.ts';

export interface QueueTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WorkQueueOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called when the handler throws: a bug, reported and retried like a transient failure. */
  readonly onCrash: (key: string, error: unknown) => void;
  readonly timers?: QueueTimers;
}

export class WorkQueue {
  private readonly waiting = new Set<string>();
  /** Keys whose last outcome was not ok: the ones reprocessAll revisits. */
  private readonly unsettled = new Set<string>();
  private readonly retries = new Map<string, { attempts: number; timer: unknown }>();
  private draining: Promise<void> | undefined;
  private readonly timers: QueueTimers;

  constructor(
    private readonly handler: (key: string) => Promise<Outcome>,
    private readonly options: WorkQueueOptions,
  ) {
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
  }

  add(key: string): void {
    this.waiting.add(key);
    this.draining ??= this.drain();
  }

  /** Resolves once nothing is waiting or running (scheduled retries may still be pending). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  get unsettledKeys(): readonly string[] {
    return [...this.unsettled];
  }

  stop(): void {
    for (const { timer } of this.retries.values()) this.timers.clearTimeout(timer);
    this.retries.clear();
    this.waiting.clear();
  }

  private async drain(): Promise<void> {
    try {
      for (let key = first(this.waiting); key !== undefined; key = first(this.waiting)) {
        this.waiting.delete(key);
        let outcome: Outcome;
        try {
          outcome = await this.handler(key);
        } catch (error) {
          this.options.onCrash(key, error);
          outcome = { kind: 'retry', reason: 'reconcile crashed' };
        }
        this.settle(key, outcome);
      }
    } finally {
      this.draining = undefined;
    }
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
        for (const other of this.unsettled) this.add(other);
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

function first(set: ReadonlySet<string>): string | undefined {
  return set.values().next().value;
}
