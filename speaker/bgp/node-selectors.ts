/**
 * MetalLB peer node-selectors: a peer applies to a node when ANY selector matches its labels (no
 * selectors: every node). A selector matches when all its match-labels and match-expressions do,
 * with Kubernetes label-selector semantics.
 */
import type { NodeSelector, Peer } from '../../shared/config/types.ts';

export function selectorMatches(selector: NodeSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return selector.matchExpressions.every(({ key, operator, values }) => {
    const value = labels[key];
    switch (operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
}

export function peersForNode(peers: readonly Peer[], labels: Readonly<Record<string, string>>): Peer[] {
  return peers.filter(
    (peer) => peer.nodeSelectors.length === 0 || peer.nodeSelectors.some((s) => selectorMatches(s, labels)),
  );
}
