/**
 * MetalLB's rules for two Services on one address: both carry the same non-empty
 * allow-shared-ip key, no {protocol, port} repeats (the address could not tell them apart), and
 * both reach the same backends (Cluster/Cluster, or Local/Local with identical selectors), since
 * one announcing node must be right for both.
 */
import type { ErrorCode } from '../shared/errors.ts';
import type { PortSpec } from './allocation-request.ts';

export interface SharingParty {
  readonly key: string;
  readonly sharingKey: string | undefined;
  readonly ports: readonly PortSpec[];
  readonly backendKey: string;
}

export interface SharingConflict {
  readonly code: Extract<ErrorCode, 'ALLOC_IP_IN_USE' | 'ALLOC_SHARING_REFUSED'>;
  readonly reason: string;
}

export function sharingConflict(wanting: SharingParty, holding: SharingParty): SharingConflict | undefined {
  if (!wanting.sharingKey || !holding.sharingKey) {
    return { code: 'ALLOC_IP_IN_USE', reason: `already in use by ${holding.key}` };
  }
  if (wanting.sharingKey !== holding.sharingKey) {
    return {
      code: 'ALLOC_SHARING_REFUSED',
      reason: `held by ${holding.key} with sharing key "${holding.sharingKey}", not "${wanting.sharingKey}"`,
    };
  }
  const clash = wanting.ports.find((mine) =>
    holding.ports.some((theirs) => theirs.protocol === mine.protocol && theirs.port === mine.port),
  );
  if (clash) {
    return {
      code: 'ALLOC_SHARING_REFUSED',
      reason: `port ${clash.port}/${clash.protocol} is already used by ${holding.key}`,
    };
  }
  if (wanting.backendKey !== holding.backendKey) {
    return {
      code: 'ALLOC_SHARING_REFUSED',
      reason: `${holding.key} has a different traffic policy or selector; shared addresses need the same backends`,
    };
  }
  return undefined;
}
