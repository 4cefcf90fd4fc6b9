/**
 * The lab network: a "switch" namespace holding a Linux bridge, node namespaces and a client
 * namespace, each attached to the bridge by a veth pair created inside the switch namespace. With a
 * router, the client also sits behind it on a second link ("outside", 10.250.0.0/24), reaching
 * everything off the lab segment (the BGP pools) through it, as a client of a real site would; the
 * nodes route back through it too. Nothing touches the machine's own network. Names carry a per-run prefix, teardown deletes exactly what
 * was created, and an exit hook does it too if the test process dies.
 */
import { execFileSync } from 'node:child_process';
import { onExit } from '../harness/exit-cleanup.ts';

export interface LabHost {
  /** Network namespace name. */
  readonly ns: string;
  readonly name: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly mac: string;
  readonly ifname: string;
}

export interface LabNetwork {
  readonly prefix: string;
  readonly switchNs: string;
  readonly nodes: readonly LabHost[];
  readonly client: LabHost;
  /** A router on the same segment (10.99.0.1), when asked for: the BGP peer of the speakers. */
  readonly router: LabHost | undefined;
  /** With a router: the client's addresses on the outside link, where BGP traffic comes from. */
  readonly outside: { readonly ipv4: string; readonly ipv6: string } | undefined;
  /** Runs a command inside a namespace and returns its stdout (throws on failure). */
  exec(ns: string, command: string, args: readonly string[]): string;
  teardown(): void;
}

export const LAB_SUBNET_V4 = '10.99.0';
export const LAB_SUBNET_V6 = 'fd00:99::';
const OUTSIDE = {
  client: { ipv4: '10.250.0.100', ipv6: 'fd00:250::100' },
  router: { ipv4: '10.250.0.1', ipv6: 'fd00:250::1' },
};

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createLabNetwork(nodeCount: number, options: { router?: boolean } = {}): LabNetwork {
  // Short: interface names are limited to 15 characters.
  const prefix = `ml${process.pid % 100000}`;
  const switchNs = `${prefix}-sw`;
  const created: string[] = [];
  const teardown = (): void => {
    for (const ns of created.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // Already gone.
      }
    }
  };
  const unregister = onExit(teardown);
  const host = (name: string, index: number): LabHost => ({
    ns: `${prefix}-${name}`,
    name,
    ipv4: `${LAB_SUBNET_V4}.${index}`,
    ipv6: `${LAB_SUBNET_V6}${index}`,
    mac: `02:00:00:99:00:${index.toString(16).padStart(2, '0')}`,
    ifname: 'eth0',
  });
  const nodes = Array.from({ length: nodeCount }, (_, i) => host(`node${i + 1}`, 11 + i));
  const client = host('client', 100);
  const router = options.router ? host('router', 1) : undefined;
  try {
    ip(['netns', 'add', switchNs]);
    created.push(switchNs);
    ip(['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', switchNs, 'link', 'set', 'br0', 'up']);
    for (const member of [...nodes, client, ...(router ? [router] : [])]) {
      ip(['netns', 'add', member.ns]);
      created.push(member.ns);
      const port = `p-${member.name}`;
      ip([
        '-n',
        switchNs,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        member.ifname,
        'netns',
        member.ns,
      ]);
      ip(['-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
      ip(['-n', member.ns, 'link', 'set', member.ifname, 'address', member.mac]);
      ip(['-n', member.ns, 'link', 'set', member.ifname, 'up']);
      ip(['-n', member.ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', member.ns, 'addr', 'add', `${member.ipv4}/24`, 'dev', member.ifname]);
      // nodad: usable at once, no duplicate address detection delay.
      ip(['-n', member.ns, 'addr', 'add', `${member.ipv6}/64`, 'dev', member.ifname, 'nodad']);
    }
    if (router) connectOutside(client.ns, router, nodes);
  } catch (error) {
    teardown();
    unregister();
    throw error;
  }
  return {
    prefix,
    switchNs,
    nodes,
    client,
    router,
    outside: router ? OUTSIDE.client : undefined,
    exec: (ns, command, args) =>
      execFileSync('ip', ['netns', 'exec', ns, command, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    teardown: () => {
      teardown();
      unregister();
    },
  };
}

/**
 * The client's second link, straight to the router, and the routes and sysctls that make the router
 * a router: forwarding on, and ECMP hashing on ports too (the default hashes addresses only, which
 * would send every connection of one client to one node).
 */
function connectOutside(clientNs: string, router: LabHost, nodes: readonly LabHost[]): void {
  ip(['-n', clientNs, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', router.ns]);
  for (const [ns, address] of [
    [clientNs, OUTSIDE.client],
    [router.ns, OUTSIDE.router],
  ] as const) {
    ip(['-n', ns, 'link', 'set', 'eth1', 'up']);
    ip(['-n', ns, 'addr', 'add', `${address.ipv4}/24`, 'dev', 'eth1']);
    ip(['-n', ns, 'addr', 'add', `${address.ipv6}/64`, 'dev', 'eth1', 'nodad']);
  }
  ip(['-n', clientNs, 'route', 'add', 'default', 'via', OUTSIDE.router.ipv4]);
  ip(['-n', clientNs, '-6', 'route', 'add', 'default', 'via', OUTSIDE.router.ipv6]);
  for (const node of nodes) {
    ip(['-n', node.ns, 'route', 'add', 'default', 'via', router.ipv4]);
    ip(['-n', node.ns, '-6', 'route', 'add', 'default', 'via', router.ipv6]);
  }
  execFileSync(
    'ip',
    [
      'netns',
      'exec',
      router.ns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.fib_multipath_hash_policy=1',
      'net.ipv6.fib_multipath_hash_policy=1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}
