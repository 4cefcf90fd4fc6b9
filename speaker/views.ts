/**
 * The speaker's only reading of Kubernetes objects: Services, EndpointSlices and Nodes become the
 * plain views desired-state works on.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { formatIp, parseIp, type IpAddress } from '../shared/ip/address.ts';
import type { NodeView, ServicePort, ServiceView } from './desired-state.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function nodeView(node: V1Node): NodeView {
  return {
    name: node.metadata?.name ?? '',
    labels: node.metadata?.labels ?? {},
    networkUnavailable: (node.status?.conditions ?? []).some(
      (c) => c.type === 'NetworkUnavailable' && c.status === 'True',
    ),
  };
}

/** The node's InternalIP, where its speaker listens for membership traffic. */
export function nodeAddress(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

function publishedIps(service: V1Service): IpAddress[] {
  return (service.status?.loadBalancer?.ingress ?? []).flatMap((entry) => {
    try {
      return entry.ip ? [parseIp(entry.ip)] : [];
    } catch {
      return [];
    }
  });
}

/** A LoadBalancer Service with a published address, with where its ready endpoints run. */
export function serviceView(service: V1Service, slices: readonly V1EndpointSlice[]): ServiceView | undefined {
  if (service.spec?.type !== 'LoadBalancer') return undefined;
  const ips = publishedIps(service);
  if (ips.length === 0) return undefined;
  const readyEndpointNodes = new Set<string>();
  let hasReadyEndpoints = false;
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      // The API defines an absent `ready` as ready.
      if (endpoint.conditions?.ready === false) continue;
      hasReadyEndpoints = true;
      if (endpoint.nodeName) readyEndpointNodes.add(endpoint.nodeName);
    }
  }
  return {
    key: `${service.metadata?.namespace}/${service.metadata?.name}`,
    ips,
    ipTexts: ips.map(formatIp),
    trafficPolicy: service.spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    readyEndpointNodes,
    hasReadyEndpoints,
    ports: (service.spec.ports ?? []).map((port): ServicePort => ({
      // The API defaults an absent protocol to TCP.
      protocol: port.protocol === 'UDP' || port.protocol === 'SCTP' ? port.protocol : 'TCP',
      port: port.port,
      nodePort: port.nodePort,
    })),
  };
}

/**
 * serviceView, remembered per Service object and its slices' versions. Watch caches replace an
 * object on every change, so an unchanged Service is the same object and its view is reused: a
 * recomputation over 10,000 Services then costs lookups, not parsing.
 */
export class ServiceViews {
  private readonly cache = new WeakMap<V1Service, { slices: string; view: ServiceView | undefined }>();

  view(service: V1Service, slices: readonly V1EndpointSlice[]): ServiceView | undefined {
    const versions = slices.map((slice) => slice.metadata?.resourceVersion ?? '?').join(',');
    const cached = this.cache.get(service);
    if (cached && cached.slices === versions) return cached.view;
    const view = serviceView(service, slices);
    this.cache.set(service, { slices: versions, view });
    return view;
  }
}
