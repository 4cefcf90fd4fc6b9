/**
 * Reconciles one Service: asks the allocator for an assignment, publishes it in the Service's
 * status, and says what happened in Events. All I/O is passed in, so tests drive it with a plain
 * map of Services and recording stubs.
 */
import type { V1Service } from '@kubernetes/client-node';
import { MetallbError } from '../shared/errors.ts';
import { canonicalIp, formatIp } from '../shared/ip/address.ts';
import type { EventRecorder } from '../shared/k8s/events.ts';
import type { Allocator } from './allocator.ts';
import { OK, REPROCESS_ALL, type Outcome } from './outcome.ts';
import { isOurs, serviceToRequest, statusIps } from './service-request.ts';

export interface ReconcilerDeps {
  readonly allocator: Allocator;
  readonly getService: (key: string) => V1Service | undefined;
  /** Publishes `ips` as status.loadBalancer.ingress; an empty list clears it. */
  readonly writeStatus: (service: V1Service, ips: readonly string[]) => Promise<void>;
  readonly events: EventRecorder;
  readonly loadBalancerClass: string | undefined;
}

const sameAddresses = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((ip) => b.includes(ip));

/** Status as canonical text; an unparsable entry stays as written so it never compares equal. */
function publishedIps(service: V1Service): string[] {
  return statusIps(service).map((ip) => {
    try {
      return canonicalIp(ip);
    } catch {
      return ip;
    }
  });
}

export function createServiceReconciler(deps: ReconcilerDeps): (key: string) => Promise<Outcome> {
  const { allocator, events } = deps;
  const target = (service: V1Service) => ({ kind: 'Service' as const, metadata: service.metadata });

  async function publish(service: V1Service, ips: readonly string[]): Promise<Outcome | undefined> {
    if (sameAddresses(ips, publishedIps(service))) return undefined;
    try {
      await deps.writeStatus(service, ips);
    } catch (error) {
      return { kind: 'retry', reason: `status update failed: ${(error as Error).message}` };
    }
    if (ips.length > 0)
      events.record(target(service), 'Normal', 'IPAllocated', `Assigned IP ${JSON.stringify(ips)}`);
    return undefined;
  }

  return async function reconcile(key: string): Promise<Outcome> {
    const service = deps.getService(key);
    if (!service || !isOurs(service, deps.loadBalancerClass)) {
      const held = allocator.assignmentOf(key) !== undefined;
      allocator.release(key);
      // A Service of another class is someone else's: never touch its status.
      const stillOurs = service && service.spec?.loadBalancerClass === deps.loadBalancerClass;
      const failure = stillOurs ? await publish(service, []) : undefined;
      return failure ?? (held ? REPROCESS_ALL : OK);
    }

    let failure: MetallbError | undefined;
    try {
      allocator.ensure(serviceToRequest(service));
    } catch (error) {
      if (!(error instanceof MetallbError)) throw error;
      failure = error;
    }
    // On failure the allocator kept whatever the Service held before, and so does its status.
    const ips = (allocator.assignmentOf(key)?.ips ?? []).map(formatIp);
    const publishFailure = await publish(service, ips);
    if (publishFailure) return publishFailure;
    if (failure) {
      events.record(
        target(service),
        'Warning',
        'AllocationFailed',
        `Failed to allocate IP for "${key}": ${failure.message}`,
      );
      return { kind: 'noRetry', reason: failure.message };
    }
    return OK;
  };
}
