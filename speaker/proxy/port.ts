/**
 * What the speaker needs from the node proxy: main wires NftProxy, tests can wire a fake. Like the
 * layer-2 and BGP sinks it is told the whole desired state each time and works out the rest.
 */
import type { ProxyTarget } from './ruleset.ts';

export interface ProxyPort {
  /** Every target this node must forward now; returns at once, the kernel follows shortly after. */
  setTargets(targets: readonly ProxyTarget[]): void;
  /** Removes every rule the proxy installed; later setTargets calls are ignored. */
  stop(): Promise<void>;
}
