/**
 * The node proxy's nftables ruleset, as the text `nft -f -` reads. Pure: the same targets always give
 * the same text, byte for byte, so the shell can skip applying a state that is already in place.
 *
 * One table of family inet covers IPv4 and IPv6. A nat chain at prerouting looks the packet's
 * (destination address, protocol, destination port) up in a map and redirects it to the NodePort the
 * map gives: one lookup per new connection whatever the number of targets, where a rule per target
 * would be walked in order. `redirect` rewrites the destination to the address of the interface the
 * packet came in on, so the rules need no node address and survive the node's addresses changing.
 */
import { FAMILY_BITS, formatIp, type Family, type IpAddress } from '../../shared/ip/address.ts';
import { MetallbError } from '../../shared/errors.ts';

/** Ours alone: the speaker creates, replaces and deletes this table and never touches another. */
export const PROXY_TABLE = 'metallb_ts';

/**
 * Traffic for ip:port over `protocol` goes to this node's `nodePort`. Services without a NodePort
 * (allocateLoadBalancerNodePorts: false) and SCTP ports have no target.
 */
export interface ProxyTarget {
  readonly ip: IpAddress;
  readonly protocol: 'TCP' | 'UDP';
  readonly port: number;
  readonly nodePort: number;
}

/** One map per family, keyed by the header fields of that family. */
interface TargetMap {
  readonly name: string;
  readonly type: string;
  /** The nft keyword of the network header: `ip` or `ip6`. */
  readonly header: string;
}

const MAPS: Readonly<Record<Family, TargetMap>> = {
  4: { name: 'ipv4_targets', type: 'ipv4_addr', header: 'ip' },
  6: { name: 'ipv6_targets', type: 'ipv6_addr', header: 'ip6' },
};

/**
 * The whole transaction that replaces our table with one forwarding exactly `targets`. Declaring the
 * table before deleting it makes the delete succeed when the table does not exist yet (first start,
 * or after someone removed it); nft applies the file as one transaction, so packets see either the
 * old table or the new one, never none. Throws PROXY_INVALID naming the bad field.
 */
export function proxyRuleset(targets: readonly ProxyTarget[]): string {
  const chosen = chooseTargets(targets);
  return [
    ...removalLines(),
    `table inet ${PROXY_TABLE} {`,
    ...targetMap(4, chosen),
    ...targetMap(6, chosen),
    '\tchain prerouting {',
    // Just after dstnat: the first NAT chain to map a connection is the only one that does, and at
    // equal priority nft runs the newest chain first, which ours is after every apply. One step later,
    // a VIP that kube-proxy (or anyone) already DNATs stays theirs; we only take what nobody maps.
    '\t\ttype nat hook prerouting priority dstnat + 1; policy accept;',
    // `th dport` needs the protocol pinned first; the maps hold only TCP and UDP anyway.
    ...([4, 6] as const).map(
      (family) =>
        `\t\tmeta nfproto ipv${family} meta l4proto { tcp, udp } ` +
        `redirect to :${MAPS[family].header} daddr . meta l4proto . th dport map @${MAPS[family].name}`,
    ),
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** Deletes our table, and succeeds whether or not it exists. */
export function removalRuleset(): string {
  return [...removalLines(), ''].join('\n');
}

function removalLines(): string[] {
  return [`table inet ${PROXY_TABLE}`, `delete table inet ${PROXY_TABLE}`];
}

function targetMap(family: Family, targets: readonly ProxyTarget[]): string[] {
  const { name, type } = MAPS[family];
  const elements = targets
    .filter((t) => t.ip.family === family)
    .map((t) => `\t\t\t${formatIp(t.ip)} . ${t.protocol.toLowerCase()} . ${t.port} : ${t.nodePort},`);
  return [
    `\tmap ${name} {`,
    `\t\ttype ${type} . inet_proto . inet_service : inet_service`,
    // nft refuses `elements = { }`: an empty map is declared without the line.
    ...(elements.length === 0 ? [] : ['\t\telements = {', ...elements, '\t\t}']),
    '\t}',
  ];
}

/**
 * Validated, one target per (address, protocol, port), sorted. A map cannot hold one key twice (nft
 * fails the whole transaction with "File exists"), so when two targets claim the same key with
 * different NodePorts the lowest NodePort wins: a choice that does not depend on the order the
 * caller happened to list Services in. The allocator refuses such sharing, so this only bridges a
 * moment of inconsistent views.
 */
function chooseTargets(targets: readonly ProxyTarget[]): ProxyTarget[] {
  const byKey = new Map<string, ProxyTarget>();
  targets.forEach((target, index) => {
    validate(target, `targets[${index}]`);
    const key = `${target.ip.family}/${target.ip.value}/${target.protocol}/${target.port}`;
    const kept = byKey.get(key);
    if (kept === undefined || target.nodePort < kept.nodePort) byKey.set(key, target);
  });
  return [...byKey.values()].sort(
    (a, b) =>
      a.ip.family - b.ip.family ||
      compare(a.ip.value, b.ip.value) ||
      compare(a.protocol, b.protocol) ||
      a.port - b.port,
  );
}

function compare<T extends bigint | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validate(target: ProxyTarget, path: string): void {
  const { family, value } = target.ip;
  if (family !== 4 && family !== 6) {
    throw new MetallbError('PROXY_INVALID', `must be 4 or 6, not ${String(family)}`, `${path}.ip.family`);
  }
  if (typeof value !== 'bigint' || value < 0n || value >> BigInt(FAMILY_BITS[family]) !== 0n) {
    throw new MetallbError('PROXY_INVALID', `is not an IPv${family} address`, `${path}.ip.value`);
  }
  if (target.protocol !== 'TCP' && target.protocol !== 'UDP') {
    throw new MetallbError(
      'PROXY_INVALID',
      `must be TCP or UDP, not ${JSON.stringify(target.protocol)}`,
      `${path}.protocol`,
    );
  }
  for (const field of ['port', 'nodePort'] as const) {
    const port = target[field];
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new MetallbError('PROXY_INVALID', `must be an integer 1-65535, not ${port}`, `${path}.${field}`);
    }
  }
}
