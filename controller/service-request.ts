/**
 * The one place that reads a Kubernetes Service for the allocator: annotations and spec become a
 * plain AllocationRequest. Both annotation prefixes are accepted (v0.12 `metallb.universe.tf/`,
 * newer `metallb.io/`), so Services written for either MetalLB keep working.
 */
import type { V1Service } from '@kubernetes/client-node';
import { MetallbError } from '../shared/errors.ts';
import { parseIp, type Family } from '../shared/ip/address.ts';
import type { AllocationRequest, FamilyPolicy, PortSpec, Protocol } from './allocation-request.ts';

const PREFIXES = ['metallb.universe.tf/', 'metallb.io/'] as const;

export function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}

/** The annotation under either prefix; both set to different values is an error, not a guess. */
function annotation(service: V1Service, name: string): string | undefined {
  const annotations = service.metadata?.annotations ?? {};
  const values = PREFIXES.map((prefix) => annotations[prefix + name]).filter((v) => v !== undefined);
  if (values.length === 2 && values[0] !== values[1]) {
    throw new MetallbError(
      'SERVICE_INVALID',
      `annotations ${PREFIXES[0]}${name} and ${PREFIXES[1]}${name} disagree`,
      `metadata.annotations`,
    );
  }
  const value = values[0]?.trim();
  return value === '' ? undefined : value;
}

function requestedIps(service: V1Service): AllocationRequest['requestedIps'] {
  const fromAnnotation = annotation(service, 'loadBalancerIPs');
  const fromSpec = service.spec?.loadBalancerIP?.trim() || undefined;
  if (fromAnnotation !== undefined && fromSpec !== undefined) {
    throw new MetallbError(
      'SERVICE_INVALID',
      'set either spec.loadBalancerIP or the loadBalancerIPs annotation, not both',
    );
  }
  const texts =
    fromAnnotation !== undefined
      ? fromAnnotation.split(',').map((s) => s.trim())
      : fromSpec
        ? [fromSpec]
        : [];
  if (texts.length > 2)
    throw new MetallbError('SERVICE_INVALID', 'at most two loadBalancerIPs (one per family)');
  return texts.map((text) => {
    try {
      return parseIp(text);
    } catch (error) {
      const where =
        fromAnnotation !== undefined ? 'metadata.annotations.loadBalancerIPs' : 'spec.loadBalancerIP';
      throw new MetallbError('SERVICE_INVALID', (error as Error).message, where);
    }
  });
}

function familyPolicy(service: V1Service): FamilyPolicy {
  const families = (service.spec?.ipFamilies ?? ['IPv4']).map((f): Family => (f === 'IPv6' ? 6 : 4));
  const primary = families[0] ?? 4;
  switch (service.spec?.ipFamilyPolicy) {
    case 'RequireDualStack':
      return { kind: 'require-dual', primary };
    case 'PreferDualStack':
      // The apiserver lists both families only on a dual-stack cluster; follow what it decided.
      return families.length > 1 ? { kind: 'prefer-dual', primary } : { kind: 'single', family: primary };
    default:
      return { kind: 'single', family: primary };
  }
}

function ports(service: V1Service): PortSpec[] {
  return (service.spec?.ports ?? []).map((p) => ({
    protocol: (p.protocol ?? 'TCP') as Protocol,
    port: p.port,
  }));
}

/** Local traffic policy pins traffic to nodes with endpoints, so sharers must select the same pods. */
function backendKey(service: V1Service): string {
  if (service.spec?.externalTrafficPolicy !== 'Local') return '';
  const selector = service.spec.selector ?? {};
  return Object.keys(selector)
    .sort()
    .map((key) => `${key}=${selector[key]}`)
    .join(',');
}

export function serviceToRequest(service: V1Service): AllocationRequest {
  return {
    key: serviceKey(service),
    families: familyPolicy(service),
    requestedIps: requestedIps(service),
    pool: annotation(service, 'address-pool'),
    sharingKey: annotation(service, 'allow-shared-ip'),
    ports: ports(service),
    backendKey: backendKey(service),
  };
}

/** Whether this controller is responsible for the Service: LoadBalancer type and our class. */
export function isOurs(service: V1Service, loadBalancerClass: string | undefined): boolean {
  return service.spec?.type === 'LoadBalancer' && service.spec.loadBalancerClass === loadBalancerClass;
}

/** Addresses currently published in status, as written by us (or a previous run of us). */
export function statusIps(service: V1Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).flatMap((entry) => (entry.ip ? [entry.ip] : []));
}
