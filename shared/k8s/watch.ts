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
  /** The last ListWatch whose list succeeded: what readers see, also while reconnecting. */
  private listWatch: ListWatch<T> | undefined;
  /** The newest connection attempt. */
  private latest: ListWatch<T> | undefined;
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
    void this.latest?.stop();
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
    const candidate = new ListWatch<T>(path, new Watch(kubeConfig), list, false, undefined, fieldSelector);
    this.latest = candidate;
    let failed = false;
    // Events are held back until this connection is the cache readers see; its whole list is
    // replayed then, which covers everything that happened before.
    let live = false;
    candidate.on('add', (object) => live && this.handlers.onChange(object));
    candidate.on('update', (object) => live && this.handlers.onChange(object));
    candidate.on('delete', (object) => live && this.handlers.onDelete(object));
    candidate.on('error', (error: unknown) => {
      failed = true;
      // Only the newest attempt may trigger a restart; an older one's late errors are moot.
      if (candidate === this.latest) this.scheduleRestart(error);
    });
    await candidate.start();
    if (failed || this.stopped) return;
    this.failures = 0;
    // Until this list succeeded, readers kept the previous cache: an outage must never look like
    // "everything was deleted". Now report what vanished meanwhile, then switch.
    const current = new Set(candidate.list().map(objectKey));
    for (const object of this.listWatch?.list() ?? []) {
      if (!current.has(objectKey(object))) this.handlers.onDelete(object);
    }
    this.listWatch = candidate;
    live = true;
    for (const object of candidate.list()) this.handlers.onChange(object);
    this.handlers.onSynced?.(candidate.list());
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
    void this.latest?.stop();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}

function objectKey(object: KubernetesObject): string {
  return `${object.metadata?.namespace}/${object.metadata?.name}`;
}
