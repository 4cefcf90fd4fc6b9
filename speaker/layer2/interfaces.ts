/**
 * Which interfaces layer 2 announces on. By default every interface that can carry ARP/NDP for a
 * LAN: Ethernet, administratively up, broadcast-capable, ARP enabled, and not enslaved to a bond or
 * bridge (the master carries the traffic; answering on a member would leak the wrong MAC).
 * Users with several NICs pin announcements to named ones (MetalLB issues 165, 277, 1299).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** The fields of `ip -j link show` we read. */
export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly link_type?: string;
  readonly address?: string;
  readonly master?: string;
}

export interface AnnounceInterface {
  readonly index: number;
  readonly name: string;
  /** aa:bb:cc:dd:ee:ff */
  readonly mac: string;
}

export function announceableInterfaces(
  links: readonly LinkInfo[],
  only?: readonly string[],
): AnnounceInterface[] {
  return links
    .filter(
      (link) =>
        link.link_type === 'ether' &&
        link.flags.includes('UP') &&
        link.flags.includes('BROADCAST') &&
        !link.flags.includes('NOARP') &&
        link.master === undefined &&
        link.address !== undefined &&
        (!only || only.length === 0 || only.includes(link.ifname)),
    )
    .map((link) => ({ index: link.ifindex, name: link.ifname, mac: link.address! }));
}

/**
 * `ip -j link` (iproute2) rather than os.networkInterfaces(), which omits interfaces without an
 * address and gives neither ifindex nor flags.
 */
export async function readLinks(): Promise<LinkInfo[]> {
  const { stdout } = await promisify(execFile)('ip', ['-j', 'link', 'show']);
  return JSON.parse(stdout) as LinkInfo[];
}

/**
 * Reports the announceable set at start and whenever it changes. One long-lived `ip monitor link`
 * says when something changed, and only then are the links read again: spawning a process from a
 * large Node process blocks its event loop for milliseconds, which periodic polling would inflict on
 * ARP answers at line rate.
 */
export function watchInterfaces(
  only: readonly string[] | undefined,
  onChange: (interfaces: AnnounceInterface[]) => void,
  onError: (error: unknown) => void,
): () => void {
  let last = '';
  let stopped = false;
  let pending: NodeJS.Timeout | undefined;
  const read = async (): Promise<void> => {
    try {
      const interfaces = announceableInterfaces(await readLinks(), only);
      const fingerprint = JSON.stringify(interfaces);
      if (!stopped && fingerprint !== last) {
        last = fingerprint;
        onChange(interfaces);
      }
    } catch (error) {
      onError(error);
    }
  };
  const monitor = spawn('ip', ['monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  monitor.on('error', onError);
  monitor.stdout.on('data', () => {
    // A change comes as several lines; read once they have settled.
    clearTimeout(pending);
    pending = setTimeout(() => void read(), 50);
  });
  void read();
  return () => {
    stopped = true;
    clearTimeout(pending);
    monitor.kill();
  };
}
