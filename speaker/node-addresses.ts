/**
 * The node's addresses of both families: the one it is known by (--host) and, on the same interface,
 * a global address of the other family. BGP needs both: IPv6 routes carry an IPv6 next hop even over
 * an IPv4 session (RFC 4760 §3), and every session needs an IPv4-shaped router id.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseIp, sameIp, type Family, type IpAddress } from '../shared/ip/address.ts';

/** The fields of `ip -j addr show` we read. */
interface AddressInfo {
  readonly ifname: string;
  readonly addr_info: readonly {
    readonly family: 'inet' | 'inet6';
    readonly local: string;
    readonly scope: string;
  }[];
}

export function addressesFromIp(
  host: IpAddress,
  interfaces: readonly AddressInfo[],
): Partial<Record<Family, IpAddress>> {
  const holder = interfaces.find((iface) =>
    iface.addr_info.some((info) => {
      try {
        return sameIp(parseIp(info.local), host);
      } catch {
        return false;
      }
    }),
  );
  const other: Family = host.family === 4 ? 6 : 4;
  const found = holder?.addr_info.find(
    (info) => info.scope === 'global' && (info.family === 'inet' ? 4 : 6) === other,
  );
  return { [host.family]: host, ...(found ? { [other]: parseIp(found.local) } : {}) };
}

export async function nodeAddresses(host: string): Promise<Partial<Record<Family, IpAddress>>> {
  const { stdout } = await promisify(execFile)('ip', ['-j', 'addr', 'show']);
  return addressesFromIp(parseIp(host), JSON.parse(stdout) as AddressInfo[]);
}
