/**
 * Kubernetes Events, what `kubectl describe` shows. Repeats of the same event on the same object
 * bump `count` on the existing Event (a patch) instead of creating a new object each time, as
 * client-go's recorder does, so a Service stuck pending does not flood etcd.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiErrorMessage } from './client.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an event is about. Listed objects carry no `kind`, so it is always given. */
export interface EventTarget {
  readonly kind: 'Service' | 'ConfigMap';
  readonly metadata?: V1ObjectMeta | undefined;
}

export interface EventRecorder {
  record(object: EventTarget, type: EventType, reason: string, message: string): void;
}

interface Seen {
  readonly name: string;
  readonly namespace: string;
  count: number;
}

const MAX_REMEMBERED = 4096;

export function createEventRecorder(core: CoreV1Api, component: string, log: Logger): EventRecorder {
  const seen = new Map<string, Seen>();
  const instance = hostname();

  async function send(object: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const cacheKey = `${meta.uid}|${type}|${reason}|${message}`;
    const now = new Date();
    const previous = seen.get(cacheKey);
    if (previous) {
      previous.count++;
      await core.patchNamespacedEvent(
        {
          name: previous.name,
          namespace: previous.namespace,
          body: { count: previous.count, lastTimestamp: now },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    }
    const name = `${meta.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: object.kind,
          name: meta.name,
          namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component },
        reportingComponent: component,
        reportingInstance: instance,
      },
    });
    if (seen.size >= MAX_REMEMBERED) seen.delete(seen.keys().next().value!);
    seen.set(cacheKey, { name, namespace, count: 1 });
  }

  return {
    record(object, type, reason, message) {
      // Events are advisory: a failure to record one is logged, never allowed to fail the caller.
      send(object, type, reason, message).catch((error: unknown) =>
        log.warn('could not record event', { reason, message, error: apiErrorMessage(error) }),
      );
    },
  };
}
