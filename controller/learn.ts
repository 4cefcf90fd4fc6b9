/**
 * Start-up learning: before any new allocation, every address already published in a Service's
 * status is claimed for that Service. This is what keeps a restart from moving or duplicating
 * addresses (MetalLB issues 1774, 2443, 2479, 2723). Oldest Services claim first, so when two
 * Services show the same address (a past bug, or a manual edit) the older one keeps it.
 */
import type { V1Service } from '@kubernetes/client-node';
import { MetallbError } from '../shared/errors.ts';
import { parseIp } from '../shared/ip/address.ts';
import type { Allocator } from './allocator.ts';
import { isOurs, serviceKey, serviceToRequest, statusIps } from './service-request.ts';
import type { AllocationRequest } from './allocation-request.ts';

export interface LearnResult {
  readonly learned: number;
  /** Services whose published address could not be claimed, with why; reconcile reassigns them. */
  readonly refused: readonly { readonly key: string; readonly reason: string }[];
}

const created = (service: V1Service): number => new Date(service.metadata?.creationTimestamp ?? 0).getTime();

/** A request good enough to hold an address, for a Service whose annotations no longer parse. */
function holdingRequest(service: V1Service): AllocationRequest {
  try {
    return serviceToRequest(service);
  } catch {
    return {
      key: serviceKey(service),
      families: { kind: 'single', family: 4 },
      requestedIps: [],
      pool: undefined,
      sharingKey: undefined,
      ports: [],
      backendKey: '',
    };
  }
}

export function learnAssignments(
  services: readonly V1Service[],
  allocator: Allocator,
  loadBalancerClass: string | undefined,
): LearnResult {
  const ordered = services
    .filter((service) => isOurs(service, loadBalancerClass) && statusIps(service).length > 0)
    .sort((a, b) => created(a) - created(b) || serviceKey(a).localeCompare(serviceKey(b)));
  let learned = 0;
  const refused: { key: string; reason: string }[] = [];
  for (const service of ordered) {
    try {
      allocator.claim(holdingRequest(service), statusIps(service).map(parseIp));
      learned++;
    } catch (error) {
      if (!(error instanceof MetallbError)) throw error;
      refused.push({ key: serviceKey(service), reason: error.message });
    }
  }
  return { learned, refused };
}
