/**
 * A cache of one resource kept current by list+watch, that never gives up. client-node's
 * ListWatch restarts itself only after 410 Gone or a client timeout; any other failure (apiserver
 * down, connection reset, 403 while RBAC propagates) stops it. Here every failure restarts it with
 * capped exponential backoff, so a component survives an apiserver outage and resumes by itself.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

export interface WatchHandlers<T> {
  onChange(object: T): void;
  onDelete(object: T): void;
  /** Called after every successful (re)list, with the complete current list. */
  onSynced?(objects: readonly T[]): void;
}

export interface ResilientWatchOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** API path to watch, e.g. `/api/v1/services`. */
  readonly path: string;
  readonly list: ListPromise<T>;
  readonly fieldSelector?: string;
  readonly log: Logger;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export class ResilientWatch<T extends KubernetesObject> {
  private listWatch: ListWatch<T> | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: ResilientWatchOptions<T>,
    private readonly handlers: WatchHandlers<T>,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    void this.listWatch?.stop();
  }

  /** The cached objects (empty until the first list succeeded). */
  list(): readonly T[] {
    return this.listWatch?.list() ?? [];
  }

  get(namespace: string, name: string): T | undefined {
    return this.listWatch?.get(name, namespace);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { kubeConfig, path, list, fieldSelector } = this.options;
    const previous = this.listWatch?.list() ?? [];
    const listWatch = new ListWatch<T>(path, new Watch(kubeConfig), list, false, undefined, fieldSelector);
    this.listWatch = listWatch;
    let failed = false;
    listWatch.on('add', (object) => this.handlers.onChange(object));
    listWatch.on('update', (object) => this.handlers.onChange(object));
    listWatch.on('delete', (object) => this.handlers.onDelete(object));
    listWatch.on('error', (error: unknown) => {
      failed = true;
      this.scheduleRestart(error);
    });
    await listWatch.start();
    if (failed || this.stopped) return;
    this.failures = 0;
    // A fresh ListWatch knows nothing of the old cache: report objects that vanished meanwhile.
    const current = new Set(listWatch.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`));
    for (const object of previous) {
      if (!current.has(`${object.metadata?.namespace}/${object.metadata?.name}`))
        this.handlers.onDelete(object);
    }
    this.handlers.onSynced?.(listWatch.list());
  }

  private scheduleRestart(error: unknown): void {
    if (this.stopped) return;
    // Capped at 5 s: after an outage the controller resumes within 5 s of the API returning, and a
    // failed list every 5 s costs the apiserver nothing worth saving.
    const { minBackoffMs = 250, maxBackoffMs = 5_000 } = this.options;
    const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.failures);
    this.failures++;
    this.options.log.warn('watch failed, restarting', {
      path: this.options.path,
      error: error instanceof Error ? error.message.split('\n')[0] : String(error),
      retryInMs: delay,
    });
    void this.listWatch?.stop();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}
