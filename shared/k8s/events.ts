/**
 * Kubernetes Events, what `kubectl describe` shows. Repeats of the same event on the same object
 * bump `count` on the existing Event (a patch) instead of creating a new object each time, as
 * client-go's recorder does, so a Service stuck pending does not flood etcd.
 * Events go out through a queue, a few at a time, like client-go's broadcaster: a speaker starting
 * with 10,000 Services records 10,000 nodeAssigned events, and firing them all at once held
 * 10,000 requests in memory and starved the event loop its BGP sessions and ARP replies need. A
 * backlog beyond MAX_BACKLOG is dropped (events are advisory) and the drop logged once per burst.
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
const IN_FLIGHT = 4;
const MAX_BACKLOG = 1000;

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

  const backlog: (() => Promise<void>)[] = [];
  let inFlight = 0;
  let dropped = 0;
  const pump = (): void => {
    while (inFlight < IN_FLIGHT && backlog.length > 0) {
      const next = backlog.shift()!;
      inFlight++;
      void next().finally(() => {
        inFlight--;
        pump();
      });
    }
    if (backlog.length === 0 && dropped > 0) {
      log.warn('events dropped: more were pending than the recorder keeps', { dropped, kept: MAX_BACKLOG });
      dropped = 0;
    }
  };

  return {
    record(object, type, reason, message) {
      if (backlog.length >= MAX_BACKLOG) {
        dropped++;
        return;
      }
      // Events are advisory: a failure to record one is logged, never allowed to fail the caller.
      backlog.push(() =>
        send(object, type, reason, message).catch((error: unknown) =>
          log.warn('could not record event', { reason, message, error: apiErrorMessage(error) }),
        ),
      );
      pump();
    },
  };
}
