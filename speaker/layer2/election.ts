/**
 * Layer-2 leader election, a pure function every speaker evaluates on the same inputs and so
 * agrees on without talking: among the eligible nodes, the announcer of an address is the one
 * whose sha256(nodeName + "#" + ip) sorts first (MetalLB's rule, so mixed fleets agree too).
 * Hashing the address rather than the Service keeps a shared address on one node, and spreads
 * different addresses over the nodes.
 */
import { createHash } from 'node:crypto';

function electionHash(node: string, ip: string): Buffer {
  return createHash('sha256').update(`${node}#${ip}`).digest();
}

/** The eligible nodes in announcing order for `ip` (first = announcer, then the successors). */
export function announcerOrder(ip: string, eligible: Iterable<string>): string[] {
  return [...eligible]
    .map((node) => ({ node, hash: electionHash(node, ip) }))
    .sort((a, b) => Buffer.compare(a.hash, b.hash) || (a.node < b.node ? -1 : 1))
    .map((entry) => entry.node);
}

/** The node that announces `ip`, or undefined when no node is eligible. */
export function electAnnouncer(ip: string, eligible: Iterable<string>): string | undefined {
  return announcerOrder(ip, eligible)[0];
}
